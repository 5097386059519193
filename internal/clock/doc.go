// Package clock puts time behind a small interface so control loops can be
// tested with a fake clock instead of sleeps. Real is the wall clock; Fake
// moves only when the test calls Step or Set, firing due timers.
package clock
