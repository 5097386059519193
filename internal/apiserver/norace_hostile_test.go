//go:build !race

package apiserver_test

// raceEnabled: see race_hostile_test.go.
const raceEnabled = false
