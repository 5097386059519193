package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// Format is the shape of log lines: Text or JSON.
type Format string

// The formats --log-format takes.
const (
	Text Format = "text"
	JSON Format = "json"
)

// Formats lists the values ParseFormat accepts, in the order usage shows them.
var Formats = []Format{Text, JSON}

// TimeFormat is the time of every line: RFC 3339 with milliseconds, in UTC.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// ParseFormat checks a --log-format value; "" is Text.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Text, nil
	}
	for _, f := range Formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("log format %q: want one of %s", s, FormatNames())
}

// FormatNames lists the formats for messages: "text, json".
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Options say how a logger writes.
type Options struct {
	Format Format // "" is Text
	Debug  bool   // --v 1 or more: debug lines too
	// Demote, when set, names warning and error entries that are expected
	// noise (etcd's shutdown lines): they are logged at debug level, that is
	// dropped unless Debug.
	Demote func(*logrus.Entry) bool
}

// New returns a logger writing o's format to w.
func New(w io.Writer, o Options) (*logrus.Logger, error) {
	l := logrus.New()
	if err := configure(l, w, o); err != nil {
		return nil, err
	}
	return l, nil
}

// SetStandard gives logrus' standard logger the same output and format, for
// code outside kubelite that logs through logrus' package functions.
func SetStandard(w io.Writer, o Options) error {
	return configure(logrus.StandardLogger(), w, o)
}

func configure(l *logrus.Logger, w io.Writer, o Options) error {
	f, err := Formatter(o.Format)
	if err != nil {
		return err
	}
	level := logrus.InfoLevel
	if o.Debug {
		level = logrus.DebugLevel
	}
	if o.Demote != nil {
		f = &demoter{next: f, demote: o.Demote, debug: o.Debug}
	}
	l.SetOutput(w)
	l.SetLevel(level)
	l.SetFormatter(f)
	return nil
}

// Formatter returns the logrus formatter of format f.
func Formatter(f Format) (logrus.Formatter, error) {
	f, err := ParseFormat(string(f))
	if err != nil {
		return nil, err
	}
	if f == JSON {
		return utc{jsonDurations{&logrus.JSONFormatter{TimestampFormat: TimeFormat}}}, nil
	}
	return utc{&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: TimeFormat, SortingFunc: sortKeys}}, nil
}

// utc formats every entry with its time in UTC.
type utc struct{ next logrus.Formatter }

func (u utc) Format(e *logrus.Entry) ([]byte, error) {
	c := *e
	c.Time = e.Time.UTC()
	return u.next.Format(&c)
}

// jsonDurations writes time.Duration fields as text ("1.5ms"), as the text
// format does, instead of as nanoseconds.
type jsonDurations struct{ next logrus.Formatter }

func (j jsonDurations) Format(e *logrus.Entry) ([]byte, error) {
	var data logrus.Fields
	for k, v := range e.Data {
		if d, ok := v.(time.Duration); ok {
			if data == nil {
				data = maps.Clone(e.Data)
			}
			data[k] = d.String()
		}
	}
	if data == nil {
		return j.next.Format(e)
	}
	c := *e
	c.Data = data
	return j.next.Format(&c)
}

// keyRank orders a text line's keys: time, level, msg, then component.
var keyRank = map[string]int{
	logrus.FieldKeyTime: 1, logrus.FieldKeyLevel: 2, logrus.FieldKeyMsg: 3,
	logrus.FieldKeyLogrusError: 4, "component": 5,
}

// sortKeys puts the keys of keyRank first, in its order, and the rest after
// them by name.
func sortKeys(keys []string) {
	sort.SliceStable(keys, func(i, j int) bool {
		ri, rj := keyRank[keys[i]], keyRank[keys[j]]
		switch {
		case ri != 0 && rj != 0:
			return ri < rj
		case ri != 0 || rj != 0:
			return ri != 0
		}
		return keys[i] < keys[j]
	})
}

// demoter logs the entries demote names at debug level, or drops them.
type demoter struct {
	next   logrus.Formatter
	demote func(*logrus.Entry) bool
	debug  bool
}

func (d *demoter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Level <= logrus.WarnLevel && d.demote(e) {
		if !d.debug {
			return nil, nil
		}
		c := *e
		c.Level = logrus.DebugLevel
		return d.next.Format(&c)
	}
	return d.next.Format(e)
}

var (
	discardOnce sync.Once
	discard     *logrus.Entry
)

// Discard returns an entry that logs nothing.
func Discard() *logrus.Entry {
	discardOnce.Do(func() {
		l := logrus.New()
		l.SetOutput(io.Discard)
		l.SetLevel(logrus.PanicLevel)
		discard = logrus.NewEntry(l)
	})
	return discard
}

// OrDiscard returns e, or Discard when e is nil: what a component does with
// the logger of its Config.
func OrDiscard(e *logrus.Entry) *logrus.Entry {
	if e == nil {
		return Discard()
	}
	return e
}

// Buffer is an io.Writer tests hand to New to read what was logged while
// the code under test may still be logging.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Lines returns the lines written so far, without their newlines.
func (b *Buffer) Lines() []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Capture returns a debug-level logger in format f writing to a Buffer, for
// tests: hand l.WithField("component", ...) to the code under test.
func Capture(t testing.TB, f Format) (*logrus.Logger, *Buffer) {
	t.Helper()
	b := &Buffer{}
	l, err := New(b, Options{Format: f, Debug: true})
	if err != nil {
		t.Fatalf("logging.Capture: %v", err)
	}
	return l, b
}

type ctxKey struct{}

// NewContext returns ctx carrying l: how the CLI hands the role's logger to
// roles/, which derives each component's entry from it.
func NewContext(ctx context.Context, l *logrus.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the logger NewContext put in ctx, or logrus' standard
// logger when there is none (a role started by a test).
func FromContext(ctx context.Context) *logrus.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*logrus.Logger); ok && l != nil {
		return l
	}
	return logrus.StandardLogger()
}
