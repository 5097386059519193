package logging

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		err  string
	}{
		{"", Text, ""},
		{"text", Text, ""},
		{"json", JSON, ""},
		{"JSON", JSON, ""},
		{"xml", "", `log format "xml": want one of text, json`},
		{"text ", "", `log format "text ": want one of text, json`},
	} {
		got, err := ParseFormat(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseFormat(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := New(io.Discard, Options{Format: "yaml"}); err == nil {
		t.Error("New with a bad format: no error")
	}
}

// at is the time of the golden lines, in a zone other than UTC: the lines
// must show it in UTC.
var at = time.Date(2026, 12, 4, 17, 54, 3, 123456789, time.FixedZone("CET", 3600))

// logSample writes the lines the golden files hold.
func logSample(l *logrus.Logger) {
	log := l.WithField("component", "scheduler").WithTime(at)
	log.Info("started")
	log.WithFields(logrus.Fields{"pod": "default/apache", "minion": "192.168.1.201", "took": 1500 * time.Microsecond}).Info("bound")
	log.WithError(errors.New(`dial tcp 127.0.0.1:4001: connect: connection refused`)).Warn("list pods failed")
	log.Debug("queue empty")
	l.WithTime(at).WithField("a", 1).Error(`no component; a "quoted" message`)
}

func TestFormatGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"text.golden", Options{Format: Text}},
		{"text-debug.golden", Options{Format: Text, Debug: true}},
		{"json.golden", Options{Format: JSON}},
		{"json-debug.golden", Options{Format: JSON, Debug: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Buffer
			l, err := New(&b, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			logSample(l)
			golden(t, tc.name, b.String())
		})
	}
}

func TestDemote(t *testing.T) {
	noise := func(e *logrus.Entry) bool { return strings.Contains(e.Message, "server closed") }
	for _, tc := range []struct {
		debug bool
		want  []string
	}{
		{false, []string{"level=warning msg=real"}},
		{true, []string{"level=debug msg=\"http: server closed\"", "level=warning msg=real"}},
	} {
		var b Buffer
		l, err := New(&b, Options{Debug: tc.debug, Demote: noise})
		if err != nil {
			t.Fatal(err)
		}
		l.Error("http: server closed")
		l.Warn("real")
		lines := b.Lines()
		if len(lines) != len(tc.want) {
			t.Fatalf("debug %v: lines %q, want %d", tc.debug, lines, len(tc.want))
		}
		for i, w := range tc.want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("debug %v: line %q, want it to hold %q", tc.debug, lines[i], w)
			}
		}
	}
}

func TestDiscard(t *testing.T) {
	e := OrDiscard(nil)
	if e.Logger.Out != io.Discard || e.Logger.IsLevelEnabled(logrus.ErrorLevel) {
		t.Errorf("OrDiscard(nil) writes to %v at level %v", e.Logger.Out, e.Logger.Level)
	}
	l, _ := Capture(t, Text)
	mine := l.WithField("component", "x")
	if OrDiscard(mine) != mine {
		t.Error("OrDiscard(e) is not e")
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != logrus.StandardLogger() {
		t.Error("FromContext without a logger: not the standard logger")
	}
	l, _ := Capture(t, JSON)
	if FromContext(NewContext(context.Background(), l)) != l {
		t.Error("FromContext(NewContext(l)) is not l")
	}
}

// BenchmarkFormat is the cost of one info line with four fields, per
// format (go test -bench Format -count 5 ./internal/logging).
func BenchmarkFormat(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			l, err := New(io.Discard, Options{Format: f})
			if err != nil {
				b.Fatal(err)
			}
			log := l.WithField("component", "scheduler")
			b.ReportAllocs()
			for b.Loop() {
				log.WithFields(logrus.Fields{"pod": "default/apache", "minion": "192.168.1.201", "took": 1500 * time.Microsecond}).Info("bound")
			}
		})
	}
}
