package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/pki"
)

func TestEtcdCommands(t *testing.T) {
	s := etcdtest.Start(t, "")
	addr := strings.TrimPrefix(s.Endpoints()[0], "http://")

	out, _, err := run(t, "kubelite", "etcd", "members", "--etcd-addr="+addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "kubelite *") || !strings.Contains(out, "healthy") || !strings.Contains(out, "scheduler and controllers run on: none") {
		t.Fatalf("members:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "snap.db")
	out, _, err = run(t, "kubelite", "etcd", "snapshot", "save", "--etcd-addr="+addr, file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Size() == 0 || !strings.Contains(out, "saved a snapshot") {
		t.Fatalf("snapshot: %v %v\n%s", fi, err, out)
	}

	if _, _, err := run(t, "kubelite", "etcd", "remove", "--etcd-addr="+addr, "nobody"); err == nil || !strings.Contains(Message(err), "no such member") {
		t.Fatalf("remove of an unknown member: %v", err)
	}
	if _, _, err := run(t, "kubelite", "etcd", "remove", "--etcd-addr="+addr); err == nil {
		t.Fatal("remove without a name accepted")
	}
	// A flag after the name is read as an argument: the error says so.
	if _, _, err := run(t, "kubelite", "etcd", "remove", "nobody", "--etcd-addr="+addr); err == nil || !strings.Contains(Message(err), "--etcd-addr="+addr+" is taken as an argument: put the flags before it") {
		t.Fatalf("remove NAME --flag: %v", err)
	}
}

// TestTokenMaster: kubelite token --master prints the master token, which
// is not the minions' join token.
func TestTokenMaster(t *testing.T) {
	dir := t.TempDir()
	id, err := pki.LoadOrCreate(dir, pki.Options{Hosts: func() ([]string, error) { return []string{"127.0.0.1"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "kubelite", "token", "--master", "--data-dir="+dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != id.MasterToken || id.MasterToken == id.JoinToken {
		t.Fatalf("token --master printed %q, want the master token", out)
	}
	out, _, err = run(t, "kubelite", "token", "--master", "--rotate", "--data-dir="+dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got == id.MasterToken || !strings.HasPrefix(got, "K10") {
		t.Fatalf("rotated master token %q", got)
	}
	if minion, _ := pki.ReadToken(dir, false); minion != id.JoinToken {
		t.Fatal("rotating the master token changed the join token")
	}
}
