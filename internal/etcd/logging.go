package etcd

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"kubelite/internal/logging"
)

// quietErrors are substrings of errors etcd logs during a normal shutdown.
var quietErrors = []string{
	"server closed",
	"use of closed network connection",
	"http: Server closed",
	"grpc: the server has been stopped",
}

// startErrors are errors etcd logs at the first start of a member and
// recovers from by itself: the storage version monitor can run before the
// first raft term reached the backend ("missing term information") and
// tries again at its next tick (etcd 3.7; a loaded machine, or a master
// stopped at once, shows it).
var startErrors = []string{
	"failed to update storage version cannot detect storage schema version: missing term information",
}

// benignWarnings are warnings etcd logs on every start of a single-member,
// no-TLS, embedded server: true, but nothing a kubelite user can act on.
var benignWarnings = []string{
	"Running http and grpc server on single port",
	"simple token is not cryptographically signed",
	// The client logs every failed attempt before it retries or returns the
	// error to its caller, who handles (and reports) it.
	"retrying of unary invoker failed",
	// Raft's election tick came before the member applied its own
	// bootstrapping configuration change (a loaded machine): it campaigns
	// at the next tick.
	"since there are still pending configuration changes to apply",
}

// logrusCore is a zapcore.Core writing to a logrus entry. Levels are mapped
// by level(); see the package doc.
type logrusCore struct {
	log     *logrus.Entry
	fields  []zapcore.Field
	closing *atomic.Bool // set while etcd is shutting down
	// infoLevel is what zap Info (and Debug) lines become.
	infoLevel logrus.Level
	// repeats, shared by the core and its With copies, holds back a
	// warning logged again within RepeatWindow (nil: none held back).
	repeats *logging.Throttle
}

func newZapLogger(log *logrus.Entry, closing *atomic.Bool) *zap.Logger {
	return zap.New(&logrusCore{log: log, closing: closing, infoLevel: logrus.DebugLevel, repeats: logging.NewThrottle(RepeatWindow)})
}

// RepeatWindow: a warning etcd logs with the same message as one logged
// less than this before is counted, not logged; the first one logged after
// the window says how many were left out. A disk that stalls fsync makes
// etcd warn thousands of times a minute ("apply request took too long",
// "failed to revoke lease" for every lease its lessor proposes to revoke
// again, "slow fdatasync"), which drowned the master's own lines (26,000
// in one 150,000-pod run).
const RepeatWindow = 10 * time.Second

func (c *logrusCore) Enabled(l zapcore.Level) bool {
	return c.log.Logger.IsLevelEnabled(c.level(l, ""))
}

func (c *logrusCore) With(fields []zapcore.Field) zapcore.Core {
	cp := *c
	cp.fields = append(append([]zapcore.Field(nil), c.fields...), fields...)
	return &cp
}

func (c *logrusCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) || e.Level >= zapcore.ErrorLevel {
		return ce.AddCore(e, c)
	}
	return ce
}

// level maps a zap level (and the text of the line) to a logrus level.
func (c *logrusCore) level(l zapcore.Level, text string) logrus.Level {
	switch {
	case l <= zapcore.InfoLevel:
		return c.infoLevel
	case l == zapcore.WarnLevel:
		if c.closing != nil && c.closing.Load() || containsAny(text, benignWarnings) {
			return logrus.DebugLevel
		}
		return logrus.WarnLevel
	case l >= zapcore.FatalLevel:
		// etcd exits the process after a fatal line: it is never quieted.
		return logrus.FatalLevel
	case l >= zapcore.DPanicLevel:
		// A panic follows (DPanic: in development builds): never quieted.
		return logrus.ErrorLevel
	default:
		if c.closing != nil && c.closing.Load() || isQuiet(text) || containsAny(text, startErrors) {
			return logrus.DebugLevel
		}
		return logrus.ErrorLevel
	}
}

func isQuiet(text string) bool { return containsAny(text, quietErrors) }

func containsAny(text string, subs []string) bool {
	for _, q := range subs {
		if strings.Contains(text, q) {
			return true
		}
	}
	return false
}

func (c *logrusCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	text := e.Message
	if v, ok := enc.Fields["error"]; ok {
		if s, ok := v.(string); ok {
			text += " " + s
		}
	}
	lvl := c.level(e.Level, text)
	if !c.log.Logger.IsLevelEnabled(lvl) {
		return nil
	}
	entry := c.log
	if len(enc.Fields) > 0 {
		entry = entry.WithFields(logrus.Fields(enc.Fields))
	}
	if e.LoggerName != "" {
		entry = entry.WithField("logger", e.LoggerName)
	}
	msg := e.Message
	if lvl == logrus.WarnLevel && c.repeats != nil {
		log, held, since := c.repeats.Admit(e.Message, e.Time)
		if !log {
			return nil
		}
		if held > 0 {
			msg += fmt.Sprintf(" (and %d more like it since %s, not logged)", held, since.UTC().Format(time.RFC3339))
		}
	}
	if e.Level >= zapcore.DPanicLevel {
		// The last line before etcd exits or panics: say so, with the cause
		// in the message itself (fields can be cut off or filtered).
		if cause, ok := enc.Fields["error"].(string); ok {
			msg += ": " + cause
		}
		if e.Level >= zapcore.FatalLevel {
			msg = "etcd fatal error, the process exits: " + msg
		} else {
			msg = "etcd panic: " + msg
		}
	}
	// Log, not Fatal or Panic: zap exits or panics itself after Write.
	entry.Log(lvl, msg)
	return nil
}

func (c *logrusCore) Sync() error { return nil }

func zapNew(c zapcore.Core) *zap.Logger { return zap.New(c) }
