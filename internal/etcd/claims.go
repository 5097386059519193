package etcd

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPortalClaimsPrefix is where the masters' portal IP claims live.
const DefaultPortalClaimsPrefix = "/kubelite/portalips/"

// Claims records who holds a name (a portal IP), one key per name under a
// prefix, written by compare-and-swap so that any number of masters
// claiming at once never hand one name to two owners. It implements
// registry.PortalClaims.
type Claims struct {
	cli    *clientv3.Client
	prefix string
}

// NewClaims returns the claims under prefix (DefaultPortalClaimsPrefix when "").
func NewClaims(cli *clientv3.Client, prefix string) *Claims {
	if prefix == "" {
		prefix = DefaultPortalClaimsPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Claims{cli: cli, prefix: prefix}
}

// Claim takes name for owner: a transaction that puts the key only if it
// does not exist. It reports false when name is held already (by anyone).
func (c *Claims) Claim(ctx context.Context, name, owner string) (bool, error) {
	key := c.prefix + name
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return resp.Succeeded, nil
}

// Release frees name if owner holds it; a name held by another owner, or
// by none, is left as it is.
func (c *Claims) Release(ctx context.Context, name, owner string) error {
	key := c.prefix + name
	_, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", owner)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}

// List returns every claim: name -> owner.
func (c *Claims) List(ctx context.Context) (map[string]string, error) {
	resp, err := c.cli.Get(ctx, c.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.prefix, err)
	}
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), c.prefix)] = string(kv.Value)
	}
	return out, nil
}
