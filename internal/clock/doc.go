// Package clock puts time behind a small interface so control loops can be
// tested with a fake clock instead of sleeps. Real is the wall clock; Fake
// moves only when the test calls Step or Set, firing due timers before
// Step/Set returns.
//
// Tests never sleep to let a component arm its timer: Fake.BlockUntil(ctx, n)
// returns once n timers (After channels or Timers, not fired, not stopped)
// wait on the clock. To assert that nothing happens before a deadline, block
// until the timer is armed, Step to just before it and check that
// Fake.Waiters still counts it (nothing fired), then Step past it.
package clock
