package kubelet

import (
	"os"

	"github.com/sirupsen/logrus"
)

func init() {
	if os.Getenv("KUBELET_DEBUG") != "" {
		logrus.SetLevel(logrus.DebugLevel)
	}
}
