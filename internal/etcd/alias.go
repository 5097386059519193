package etcd

import clientv3 "go.etcd.io/etcd/client/v3"

// Client is the etcd v3 client NewClient returns, named here so that
// packages outside the etcd boundary (the CLI, roles) can hold one without
// importing etcd's packages.
type Client = clientv3.Client
