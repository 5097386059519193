package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/config"
)

// setupLogging configures logrus' standard logger, which every component
// logs through, for one role run.
func setupLogging(w io.Writer, l config.Logging) {
	logrus.SetOutput(w)
	level := logrus.InfoLevel
	if l.V >= 1 {
		level = logrus.DebugLevel
	}
	logrus.SetLevel(level)
	logrus.SetFormatter(&shutdownNoiseFilter{
		next:  &logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000"},
		debug: level >= logrus.DebugLevel,
	})
}

// shutdownNoiseFilter demotes the error lines a normal etcd shutdown logs
// ("... server closed"), and the warnings embedded etcd prints at every start
// about settings kubelite chose on purpose, to debug lines, and drops them
// below debug level.
type shutdownNoiseFilter struct {
	next  logrus.Formatter
	debug bool
}

func (f *shutdownNoiseFilter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Level <= logrus.WarnLevel && (isShutdownNoise(e) || isEtcdStartNoise(e)) {
		if !f.debug {
			return nil, nil
		}
		c := *e
		c.Level = logrus.DebugLevel
		return f.next.Format(&c)
	}
	return f.next.Format(e)
}

// isShutdownNoise reports whether e is one of the "server closed" lines
// etcd logs while it closes its listeners.
func isShutdownNoise(e *logrus.Entry) bool {
	if strings.Contains(strings.ToLower(e.Message), "server closed") {
		return true
	}
	for _, v := range e.Data {
		if strings.Contains(strings.ToLower(fmt.Sprint(v)), "server closed") {
			return true
		}
	}
	return false
}

// etcdStartNoise are warnings embedded etcd logs at every start about
// choices kubelite made: one port for HTTP and gRPC (the tutorial's 4001),
// and the simple auth token (etcd's auth is not enabled).
var etcdStartNoise = []string{
	"Running http and grpc server on single port",
	"simple token is not cryptographically signed",
}

func isEtcdStartNoise(e *logrus.Entry) bool {
	if e.Level != logrus.WarnLevel || e.Data["component"] != "etcd" {
		return false
	}
	for _, n := range etcdStartNoise {
		if strings.Contains(e.Message, n) {
			return true
		}
	}
	return false
}
