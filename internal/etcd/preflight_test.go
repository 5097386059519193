package etcd_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
)

// copyDir copies the tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newestWAL(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "etcd", "member", "wal", "*.wal"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no WAL in %s (%v)", dir, err)
	}
	sort.Strings(m)
	return m[len(m)-1]
}

func writeAt(t *testing.T, path string, data []byte, offsets ...int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, off := range offsets {
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 17 item 5: a truncated newest WAL made etcd hang until kubelite gave
// up after 92 s; a damaged database file gave a raw Go panic. Now the start
// stops at once with one error naming the file and the way out.
func TestHostileDamagedDataDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	srv := etcdtest.Start(t, base)
	cli := srv.Client(t)
	for i := 0; i < 100; i++ {
		if _, err := cli.Put(context.Background(), "/registry/pods/default/p"+strings.Repeat("x", i%7), "{}"); err != nil {
			t.Fatal(err)
		}
	}
	srv.Stop()

	garbage := []byte(strings.Repeat("\xab", 4096))
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns the file named
	}{
		{"truncated newest WAL", func(t *testing.T, dir string) string {
			w := newestWAL(t, dir)
			if err := os.Truncate(w, 300); err != nil {
				t.Fatal(err)
			}
			return w
		}},
		{"garbage in the WAL", func(t *testing.T, dir string) string {
			w := newestWAL(t, dir)
			writeAt(t, w, []byte("garbage garbage garbage"), 200)
			return w
		}},
		{"database header zeroed", func(t *testing.T, dir string) string {
			db := filepath.Join(dir, "etcd", "member", "snap", "db")
			writeAt(t, db, make([]byte, 8192), 0)
			return db
		}},
		{"database pages overwritten", func(t *testing.T, dir string) string {
			db := filepath.Join(dir, "etcd", "member", "snap", "db")
			st, err := os.Stat(db)
			if err != nil {
				t.Fatal(err)
			}
			// Every page after the first four: with every other page
			// overwritten, etcd once started (as user nobody, parallel
			// unit tier): the garbage may land on free pages only.
			var offs []int64
			for off := int64(16384); off < st.Size(); off += 4096 {
				offs = append(offs, off)
			}
			writeAt(t, db, garbage, offs...)
			return db
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			file := tc.damage(t, dir)
			e := etcd.NewEmbedded(etcd.Config{DataDir: dir, ClientAddr: etcdtest.FreeAddr(t), PeerAddr: etcdtest.FreeAddr(t),
				UnsafeNoFsync: true, StartTimeout: 20 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			start := time.Now()
			err := e.Run(ctx, func() { cancel() })
			took := time.Since(start)
			if err == nil {
				t.Fatalf("etcd started on a damaged data dir (%s)", took)
			}
			msg := err.Error()
			if !strings.Contains(msg, file) || !strings.Contains(msg, "Way out: restore a snapshot") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and the way out", msg, file)
			}
			if took > 5*time.Second {
				t.Errorf("refused after %s, want at once", took)
			}
		})
	}
	t.Run("undamaged copy starts", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, base, dir)
		if err := etcd.CheckDataDir(filepath.Join(dir, "etcd")); err != nil {
			t.Fatalf("CheckDataDir of a good copy: %v", err)
		}
		etcdtest.Start(t, dir)
	})
}
