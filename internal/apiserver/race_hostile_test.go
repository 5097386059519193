//go:build race

package apiserver_test

// raceEnabled: the race detector allows 8,128 live goroutines, so the
// exhaustion tests open fewer connections under it.
const raceEnabled = true
