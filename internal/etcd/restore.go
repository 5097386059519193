package etcd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// snapshotHashLen is the sha256 etcd's snapshot stream appends to the
// database file.
const snapshotHashLen = 32

// ReadSnapshot returns the live keys of a snapshot written by SaveSnapshot
// (`kubelite etcd snapshot save`): the latest version of every key that is
// not deleted, read from the database's key bucket (revision-ordered). Keys
// that were bound to a lease (events, election keys) are left out: their
// leases do not survive a restore, and events expire anyway.
func ReadSnapshot(path string) (map[string][]byte, error) {
	// Work on a copy without the appended hash: bbolt wants its own file.
	src, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	tmpDir, err := os.MkdirTemp("", "kubelite-restore-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	dbPath := filepath.Join(tmpDir, "db")
	dst, err := os.OpenFile(dbPath, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	size := fi.Size()
	if size%512 == snapshotHashLen {
		size -= snapshotHashLen
	}
	_, err = io.CopyN(dst, src, size)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	db, err := bolt.Open(dbPath, 0o400, &bolt.Options{ReadOnly: true, Timeout: 2e9})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s is not an etcd database: %w", path, err)
	}
	defer db.Close()
	live := map[string][]byte{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("key"))
		if b == nil {
			return fmt.Errorf("snapshot %s has no key bucket: not an etcd database", path)
		}
		return b.ForEach(func(rev, v []byte) error {
			// A revision key is 8 bytes main, '_', 8 bytes sub, and a 't'
			// when the key was deleted at that revision.
			if len(rev) < 17 {
				return fmt.Errorf("snapshot %s: malformed revision key", path)
			}
			var kv mvccpb.KeyValue
			if err := proto.Unmarshal(v, &kv); err != nil {
				return fmt.Errorf("snapshot %s: %w", path, err)
			}
			if (len(rev) == 18 && rev[17] == 't') || kv.Lease != 0 {
				delete(live, string(kv.Key))
				return nil
			}
			live[string(kv.Key)] = append([]byte(nil), kv.Value...)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return live, nil
}

// RestoreSnapshot writes the live keys of the snapshot at path into the
// cluster of cli, which must hold none of kubelite's objects yet (a new
// data dir), in transactions of at most 64 puts. It returns how many keys
// it wrote. The keys get new revisions, lower than the snapshot's (etcdutl,
// which keeps them, is not linked): watchers must list again.
func RestoreSnapshot(ctx context.Context, cli *clientv3.Client, path string) (int, error) {
	live, err := ReadSnapshot(path)
	if err != nil {
		return 0, err
	}
	resp, err := cli.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	if resp.Count > 0 {
		return 0, fmt.Errorf("restore: this etcd already holds %d objects: restore into a new --data-dir", resp.Count)
	}
	var ops []clientv3.Op
	n := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		n += len(ops)
		ops = ops[:0]
		return nil
	}
	for k, v := range live {
		if strings.HasPrefix(k, DefaultElectionPrefix) {
			continue
		}
		ops = append(ops, clientv3.OpPut(k, string(v)))
		if len(ops) == 64 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
