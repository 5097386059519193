// Package deps pins the design card's modules in go.mod while the packages
// that use them are being written. Delete once every one is imported elsewhere.
package deps

import (
	_ "github.com/coreos/go-iptables/iptables"
	_ "github.com/docker/docker/client"
	_ "github.com/sirupsen/logrus"
	_ "github.com/urfave/cli/v2"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "sigs.k8s.io/yaml"
)
