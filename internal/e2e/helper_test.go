//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// helperArg, as the first argument of the test binary, makes it an HTTP
// client run inside a network namespace (under nsenter) instead of the suite.
const helperArg = "e2e-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		if err := runHelper(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "e2e-helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// answer is one GET as the helper reports it.
type answer struct {
	At      time.Time `json:"at"`
	Status  int       `json:"status,omitempty"`
	Pod     string    `json:"pod,omitempty"`
	Version string    `json:"version,omitempty"`
	Remote  string    `json:"remote,omitempty"`
	Body    string    `json:"body,omitempty"`
	Err     string    `json:"err,omitempty"`
}

func (a answer) ok() bool { return a.Err == "" && a.Status == http.StatusOK }

// runHelper: get [-n N] [-interval D] [-timeout D] [-max-fails K] [-until-eof] URL.
// Each GET uses a new connection (no keep-alive), so every request is
// balanced anew by a service proxy. With -until-eof it repeats until stdin
// closes (at most 10 minutes), for probing a service throughout a change.
func runHelper(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "get" {
		return fmt.Errorf("usage: %s get [-n N] [-interval D] [-timeout D] [-until-eof] URL", helperArg)
	}
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	n := fs.Int("n", 1, "number of requests")
	interval := fs.Duration("interval", 0, "pause between requests")
	timeout := fs.Duration("timeout", 2*time.Second, "timeout of one request")
	untilEOF := fs.Bool("until-eof", false, "repeat until stdin is closed (bounded to 10 minutes)")
	maxFails := fs.Int("max-fails", 0, "stop after this many failed requests (0: never)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one URL, got %q", fs.Args())
	}
	url := fs.Arg(0)
	client := &http.Client{
		Timeout:   *timeout,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	var stop atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if *untilEOF {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			stop.Store(true)
		}()
	}
	enc := json.NewEncoder(stdout)
	fails := 0
	for i := 0; *untilEOF || i < *n; i++ {
		if stop.Load() || ctx.Err() != nil {
			break
		}
		a := get(ctx, client, url)
		if err := enc.Encode(a); err != nil {
			return err
		}
		if !a.ok() {
			if fails++; *maxFails > 0 && fails >= *maxFails {
				break
			}
		}
		if *interval > 0 {
			time.Sleep(*interval) // real time: -interval paces the probe's requests
		}
	}
	return nil
}

func get(ctx context.Context, c *http.Client, url string) answer {
	a := answer{At: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	resp, err := c.Do(req)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		a.Err = "read body: " + err.Error()
	}
	body := string(b)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "pod":
			a.Pod = v
		case "version":
			a.Version = v
		case "remote":
			a.Remote = v
		}
	}
	if a.Pod == "" { // not the test web server: keep the start of what it said
		if len(body) > 200 {
			body = body[:200]
		}
		a.Body = body
	}
	return a
}

// parseAnswers reads the helper's output, one JSON answer per line; lines
// that are not JSON (a helper error) become failed answers.
func parseAnswers(out []byte) []answer {
	var as []answer
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var a answer
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			a = answer{Err: "helper: " + line}
		}
		as = append(as, a)
	}
	return as
}
