package etcd

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestLogLevels(t *testing.T) {
	var closing atomic.Bool
	c := &logrusCore{log: logrus.WithField("component", "etcd"), closing: &closing, infoLevel: logrus.DebugLevel}
	cases := []struct {
		lvl     zapcore.Level
		text    string
		closing bool
		want    logrus.Level
	}{
		{zapcore.InfoLevel, "published local member", false, logrus.DebugLevel},
		{zapcore.DebugLevel, "x", false, logrus.DebugLevel},
		{zapcore.WarnLevel, "apply request took too long", false, logrus.WarnLevel},
		{zapcore.WarnLevel, "Running http and grpc server on single port. This is not recommended for production.", false, logrus.DebugLevel},
		{zapcore.WarnLevel, "anything", true, logrus.DebugLevel},
		{zapcore.WarnLevel, "retrying of unary invoker failed", false, logrus.DebugLevel},
		{zapcore.ErrorLevel, "setting up serving from embedded etcd failed. mux: server closed", false, logrus.DebugLevel},
		{zapcore.ErrorLevel, "setting up serving from embedded etcd failed. accept tcp: use of closed network connection", false, logrus.DebugLevel},
		{zapcore.ErrorLevel, "failed to save snapshot: no space left on device", false, logrus.ErrorLevel},
		{zapcore.ErrorLevel, "failed to update storage version cannot detect storage schema version: missing term information", false, logrus.DebugLevel},
		{zapcore.ErrorLevel, "failed to update storage version cannot detect storage schema version: some other cause", false, logrus.ErrorLevel},
		{zapcore.ErrorLevel, "anything", true, logrus.DebugLevel},
		{zapcore.FatalLevel, "boom", false, logrus.FatalLevel},
	}
	for _, tc := range cases {
		closing.Store(tc.closing)
		if got := c.level(tc.lvl, tc.text); got != tc.want {
			t.Errorf("%s %q closing=%v: got %s, want %s", tc.lvl, tc.text, tc.closing, got, tc.want)
		}
	}
}

// Issue 17 item 4: an etcd fatal (etcd exits after it) must never be
// quieted, not while closing, not when its text looks like a shutdown line,
// and it carries its cause.
func TestHostileEtcdFatalNotHidden(t *testing.T) {
	var closing atomic.Bool
	closing.Store(true)
	c := &logrusCore{log: logrus.WithField("component", "etcd"), closing: &closing, infoLevel: logrus.DebugLevel}
	for _, tc := range []struct {
		lvl  zapcore.Level
		want logrus.Level
	}{{zapcore.FatalLevel, logrus.FatalLevel}, {zapcore.PanicLevel, logrus.ErrorLevel}, {zapcore.DPanicLevel, logrus.ErrorLevel}} {
		if got := c.level(tc.lvl, "failed to save Raft hard state and entries use of closed network connection"); got != tc.want {
			t.Errorf("%s while closing: %s, want %s", tc.lvl, got, tc.want)
		}
	}
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	c.log = logrus.NewEntry(l).WithField("component", "etcd")
	ent := zapcore.Entry{Level: zapcore.FatalLevel, Message: "failed to save Raft hard state and entries"}
	if err := c.Write(ent, []zapcore.Field{zap.Error(errors.New("open /d/wal/x.wal: too many open files"))}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=fatal", "failed to save Raft hard state and entries: open /d/wal/x.wal: too many open files", "process exits"} {
		if !strings.Contains(out, want) {
			t.Errorf("fatal line %q lacks %q", out, want)
		}
	}
}
