package etcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.uber.org/zap"
)

// The pre-flight check of an existing data directory. Damaged files make
// etcd misbehave in ways kubelite cannot catch: a damaged database panics
// in a goroutine of etcd's own (the process dies with a Go stack trace); a
// newest WAL file that lost committed entries is "repaired" by etcd, which
// then never becomes ready. So before etcd starts, Run reads both: every
// page of the database reachable from its buckets, and every WAL record,
// and compares the database's applied index with the WAL's last entry. A
// damage found is one error naming the file and the way out.

// DamagedError is a damaged etcd data directory.
type DamagedError struct {
	File  string // the damaged file
	Cause string
	Dir   string // the etcd data directory
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("etcd data is damaged: %s: %s. etcd cannot start on it. Way out: restore a snapshot "+
		"(etcdutl snapshot restore BACKUP --data-dir %s, after moving %s aside), or, in a cluster of several "+
		"members, remove this member (etcdctl member remove), delete %s and rejoin it (etcdctl member add)",
		e.File, e.Cause, e.Dir, e.Dir, e.Dir)
}

// CheckDataDir checks etcd's data directory dir (DataDir/etcd) before a
// start; a directory without data passes. The error is a *DamagedError.
func CheckDataDir(dir string) error {
	memberDir := filepath.Join(dir, "member")
	db := filepath.Join(memberDir, "snap", "db")
	walDir := filepath.Join(memberDir, "wal")
	if _, err := os.Stat(walDir); errors.Is(err, os.ErrNotExist) {
		return nil // a new member: nothing to check
	}
	applied, err := checkDB(db)
	if err != nil {
		return &DamagedError{File: db, Cause: err.Error(), Dir: dir}
	}
	file, last, err := lastWALIndex(walDir, filepath.Join(memberDir, "snap"))
	if err != nil {
		return &DamagedError{File: file, Cause: err.Error(), Dir: dir}
	}
	if last < applied {
		return &DamagedError{File: file, Dir: dir, Cause: fmt.Sprintf(
			"the WAL ends at entry %d but the database has applied entry %d: the WAL lost committed entries (truncated?)", last, applied)}
	}
	return nil
}

// checkDB opens the database read-only, reads every key of every bucket
// (so every reachable page), and returns etcd's consistent index (the last
// applied entry). bbolt panics on some damaged pages: recovered here, in
// the goroutine that reads them.
func checkDB(path string) (applied uint64, err error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // a WAL without a database: etcd rebuilds it
		}
		return 0, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unreadable page: %v", p)
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 2e9})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error { return nil })
		}); err != nil {
			return err
		}
		if m := tx.Bucket([]byte("meta")); m != nil {
			if v := m.Get([]byte("consistent_index")); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return applied, err
}

// lastWALIndex reads the WAL from the newest snapshot on and returns the
// newest WAL file and the index of the last entry (or of the snapshot).
func lastWALIndex(walDir, snapDir string) (string, uint64, error) {
	newest := walDir
	if names, _ := filepath.Glob(filepath.Join(walDir, "*.wal")); len(names) > 0 {
		sort.Strings(names)
		newest = names[len(names)-1]
	}
	lg := zap.NewNop()
	walSnaps, err := wal.ValidSnapshotEntries(lg, walDir)
	if err != nil {
		return newest, 0, err
	}
	start := &walpb.Snapshot{}
	s, err := snap.New(lg, snapDir).LoadNewestAvailable(walSnaps)
	switch {
	case err == nil:
		idx, term := s.Metadata.GetIndex(), s.Metadata.GetTerm()
		start.Index, start.Term = &idx, &term
	case errors.Is(err, snap.ErrNoSnapshot):
	default:
		return filepath.Join(snapDir, "*.snap"), 0, err
	}
	w, err := wal.OpenForRead(lg, walDir, start)
	if err != nil {
		return newest, 0, err
	}
	defer w.Close()
	_, _, ents, err := w.ReadAll()
	if err != nil {
		return newest, 0, err
	}
	last := start.GetIndex()
	if len(ents) > 0 {
		last = max(last, ents[len(ents)-1].GetIndex())
	}
	return newest, last, nil
}
