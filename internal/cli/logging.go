package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/logging"
)

// setupLogging returns the logger of one role run (roles/ hands each
// component an entry of it) in l's format, and gives logrus' standard
// logger the same setup for code that logs through logrus' package
// functions. The error lines a normal etcd shutdown logs ("... server
// closed"), and the warnings embedded etcd prints at every start about
// settings kubelite chose on purpose, are demoted to debug lines.
func setupLogging(w io.Writer, l config.Logging) (*logrus.Logger, error) {
	o := logging.Options{Format: logging.Format(l.Format), Debug: l.V >= 1, Demote: func(e *logrus.Entry) bool {
		return isShutdownNoise(e) || isEtcdStartNoise(e)
	}}
	if err := logging.SetStandard(w, o); err != nil {
		return nil, err
	}
	return logging.New(w, o)
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
