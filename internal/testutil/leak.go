package testutil

import (
	"fmt"
	"os"

	"go.uber.org/goleak"
)

// Runner is what TestMain runs: *testing.M, or a wrapper of it.
type Runner interface{ Run() int }

type leakChecked struct {
	m    Runner
	opts []goleak.Option
}

// NoLeaks wraps m so that, once its tests pass, goroutines still running
// fail the test binary (go.uber.org/goleak, which retries for a while, so a
// goroutine already on its way out is not reported). Packages that start
// goroutines call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.NoLeaks(m).Run()) }
func NoLeaks(m Runner, opts ...goleak.Option) Runner { return leakChecked{m: m, opts: opts} }

func (l leakChecked) Run() int {
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(l.opts...); err != nil {
		fmt.Fprintf(os.Stderr, "goroutines left running after the tests passed (goleak): %v\n", err)
		return 1
	}
	return 0
}
