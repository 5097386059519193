package etcd

import (
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"
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
		{zapcore.ErrorLevel, "anything", true, logrus.DebugLevel},
		{zapcore.FatalLevel, "boom", false, logrus.ErrorLevel},
	}
	for _, tc := range cases {
		closing.Store(tc.closing)
		if got := c.level(tc.lvl, tc.text); got != tc.want {
			t.Errorf("%s %q closing=%v: got %s, want %s", tc.lvl, tc.text, tc.closing, got, tc.want)
		}
	}
}
