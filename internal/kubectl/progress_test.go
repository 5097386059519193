package kubectl

import (
	"context"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/endpoint"
	"kubelite/internal/testutil"
)

// waitOutput waits until buf holds sub.
func waitOutput(t *testing.T, buf *syncBuffer, sub string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(buf.String(), sub) {
		select {
		case <-buf.got:
		case <-deadline:
			t.Fatalf("output never contained %q:\n%s", sub, buf.String())
		}
	}
}

// progressRun starts a command with a fake clock, its stderr and stdout
// followed; wait returns its error.
func progressRun(t *testing.T, c Client, args ...string) (clk *clock.Fake, stdout, stderr *syncBuffer, wait func() error) {
	clk = clock.NewFake(time.Date(2014, 12, 20, 0, 0, 0, 0, time.UTC))
	stdout, stderr = &syncBuffer{got: make(chan struct{}, 1)}, &syncBuffer{got: make(chan struct{}, 1)}
	r := &Runner{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Clock: clk,
		Connect: func(endpoint.Endpoint) (Client, error) { return c, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, args) }()
	t.Cleanup(func() { cancel(); <-done })
	return clk, stdout, stderr, func() error {
		select {
		case err := <-done:
			done <- err
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%v did not return", args)
			return nil
		}
	}
}

// stepProgress moves the clock past the next progress line once the
// command waits on it.
func stepProgress(t *testing.T, clk *clock.Fake) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("the command never waited on the clock: %v", err)
	}
	clk.Step(progressEvery)
}

// stop says, on stderr, how many pods are left: at each change and every
// progressEvery while nothing changes. Stdout stays the RC's name.
func TestStopProgress(t *testing.T) {
	c := newFakeClient()
	web := map[string]string{"name": "web"}
	mustCreate(t, c, rcObj("web", 2, 2, web, "img"),
		pod("web-1", "img", "m1", "", api.PodPhaseRunning, web), pod("web-2", "img", "m1", "", api.PodPhaseRunning, web))
	clk, stdout, stderr, wait := progressRun(t, c, "stop", "web")
	waitOutput(t, stderr, "2 of 2 pods still running (0s)")
	stepProgress(t, clk)
	waitOutput(t, stderr, "(5s)")
	for _, id := range []string{"web-1", "web-2"} {
		if _, err := c.Delete(context.Background(), api.Pods, "default", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if stdout.String() != "web\n" {
		t.Errorf("stdout %q, want the RC's name", stdout.String())
	}
	golden(t, "stop_progress", stderr.String())
}

// rollingupdate says what it waits for while a replacement is not Running.
func TestRollingUpdateProgress(t *testing.T) {
	c := newFakeClient()
	web := map[string]string{"name": "web"}
	mustCreate(t, c, rcObj("web", 1, 1, web, "web:v1"), pod("web-1", "web:v1", "m1", "", api.PodPhaseRunning, web))
	clk, stdout, _, wait := progressRun(t, c, "rollingupdate", "web", "--image", "web:v2", "--timeout", "1m")
	waitOutput(t, stdout, "replacing web-1 (1/1)")
	stepProgress(t, clk)
	waitOutput(t, stdout, "no new pod yet (5s of 1m0s)")
	// What the replication manager would do: a pod of the new template.
	mustCreate(t, c, pod("web-2", "web:v2", "m1", "", api.PodPhasePending, web))
	// A progress line names it once the watch has delivered it (ticks may
	// come first: step the clock until one does).
	testutil.Eventually(t, 10*time.Second, func() bool {
		if strings.Contains(stdout.String(), "web-2 Pending") {
			return true
		}
		if clk.Waiters() > 0 {
			clk.Step(progressEvery)
		}
		return false
	}, "progress never named the new pod:\n%s", stdout)
	p, err := c.Get(context.Background(), api.Pods, "default", "web-2")
	if err != nil {
		t.Fatal(err)
	}
	p.(*api.Pod).CurrentState.Phase = api.PodPhaseRunning
	if _, err := c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("rollingupdate: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{
		"Updating web: waiting for the replacement of web-1 (1/1): no new pod yet (5s of 1m0s)\n",
		"Updating web: waiting for the replacement of web-1 (1/1): web-2 Pending (",
		"Updating web: web-2 is Running (1/1)\nUpdate of web succeeded: 1 pods replaced\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rollingupdate printed no %q:\n%s", want, out)
		}
	}
}
