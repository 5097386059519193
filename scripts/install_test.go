// Package scripts tests scripts/install.sh in a throwaway root: the files it
// installs, that it is idempotent, that the systemd units' command lines
// parse with the sample configs, and that --uninstall removes it again.
package scripts

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kubelite/internal/testutil"
)

func install(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"install.sh"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// tree maps every path under root to a digest of its content (or link target).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel+"/"] = "dir"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, _ := d.Info()
			out[rel] = fmt.Sprintf("%x %v", sha256.Sum256(data), info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]string) []string {
	var k []string
	for p := range m {
		k = append(k, p)
	}
	sort.Strings(k)
	return k
}

// execStart returns the argv of a unit's ExecStart line.
func execStart(t *testing.T, unit string) []string {
	t.Helper()
	f, err := os.Open(unit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("%s: no ExecStart", unit)
	return nil
}

// token is a well-formed join token for the units' command lines; no
// master checks it here.
const token = "K10" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + "::install-test-secret"

func TestInstallUninstall(t *testing.T) {
	bin := testutil.KubeliteBinary(t)
	root := t.TempDir()
	out := install(t, "--root", root, "--binary", bin, "--token", token)
	if strings.Contains(out, "install-test-secret") {
		t.Errorf("install.sh printed the token's secret:\n%s", out)
	}
	first := tree(t, root)

	want := []string{
		"etc/kubernetes/apiserver", "etc/kubernetes/config", "etc/kubernetes/controller-manager",
		"etc/kubernetes/kubelet", "etc/kubernetes/proxy", "etc/kubernetes/scheduler", "etc/kubernetes/token",
		"etc/systemd/system/kubelite-master.service", "etc/systemd/system/kubelite-minion.service",
		"usr/local/bin/kubectl", "usr/local/bin/kubelite",
	}
	for _, w := range want {
		if _, ok := first[w]; !ok {
			t.Errorf("missing %s; installed: %v", w, keys(first))
		}
	}
	if first["usr/local/bin/kubectl"] != "-> kubelite" {
		t.Errorf("kubectl symlink = %q", first["usr/local/bin/kubectl"])
	}
	if !strings.HasSuffix(first["usr/local/bin/kubelite"], " -rwxr-xr-x") {
		t.Errorf("kubelite mode: %q", first["usr/local/bin/kubelite"])
	}
	// The join token: the minion's secret, readable by root only.
	if !strings.HasSuffix(first["etc/kubernetes/token"], " -rw-------") {
		t.Errorf("token mode: %q, want 0600", first["etc/kubernetes/token"])
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/token")); err != nil || string(b) != token+"\n" {
		t.Errorf("token file %q (%v), want the token and a newline", b, err)
	}

	// Idempotent, and an edited config file survives a second run.
	edited := filepath.Join(root, "etc/kubernetes/kubelet")
	original, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, []byte("KUBELET_HOSTNAME=\"--hostname_override=192.168.1.202\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, root)
	out = install(t, "--root", root, "--binary", bin)
	for _, kept := range []string{edited, filepath.Join(root, "etc/kubernetes/token")} {
		if !strings.Contains(out, "kept "+kept) {
			t.Errorf("second run did not keep %s:\n%s", kept, out)
		}
	}
	after := tree(t, root)
	for _, p := range keys(before) {
		if before[p] != after[p] {
			t.Errorf("second run changed %s", p)
		}
	}
	if len(before) != len(after) {
		t.Errorf("second run changed the file set: %v -> %v", keys(before), keys(after))
	}
	if err := os.WriteFile(edited, original, 0o644); err != nil {
		t.Fatal(err)
	}

	// The units' command lines parse with the installed samples.
	conf := filepath.Join(root, "etc/kubernetes")
	for _, tc := range []struct {
		unit string
		want []string
	}{
		{"kubelite-master.service", []string{
			"--etcd_servers=http://192.168.1.10:4001  # " + conf + "/config:3",
			"--machines=192.168.1.201,192.168.1.202  # " + conf + "/controller-manager:2",
			"--portal_net=10.254.0.0/16  # " + conf + "/apiserver:14",
			"--port=8080  # " + conf + "/apiserver:5",
		}},
		{"kubelite-minion.service", []string{
			"--master=192.168.1.200:8080  # " + conf + "/config:16",
			"--token-file=" + conf + "/token  # flag or environment",
			"--hostname_override=192.168.1.201  # " + conf + "/kubelet:11",
			"--port=10250  # " + conf + "/kubelet:8",
		}},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			argv := execStart(t, filepath.Join(root, "etc/systemd/system", tc.unit))
			if argv[0] != "/usr/local/bin/kubelite" {
				t.Fatalf("ExecStart runs %s", argv[0])
			}
			args := []string{}
			for _, a := range argv[1:] {
				// The throwaway root's copy of /etc/kubernetes.
				args = append(args, strings.Replace(a, "=/etc/kubernetes", "="+conf, 1))
			}
			cmd := exec.Command(filepath.Join(root, "usr/local/bin/kubelite"), append(args, "--print-config")...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w+"\n") {
					t.Errorf("resolved config lacks %q:\n%s", w, out)
				}
			}
		})
	}

	// Uninstall keeps /etc/kubernetes; --purge removes it.
	install(t, "--uninstall", "--root", root)
	left := tree(t, root)
	for _, p := range []string{"usr/local/bin/kubelite", "usr/local/bin/kubectl", "etc/systemd/system/kubelite-master.service", "etc/systemd/system/kubelite-minion.service"} {
		if _, ok := left[p]; ok {
			t.Errorf("uninstall left %s", p)
		}
	}
	if _, ok := left["etc/kubernetes/config"]; !ok {
		t.Error("uninstall removed /etc/kubernetes/config without --purge")
	}
	if _, ok := left["etc/kubernetes/token"]; !ok {
		t.Error("uninstall removed the join token without --purge")
	}
	install(t, "--uninstall", "--purge", "--root", root)
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("--purge left %s: %v", conf, err)
	}
}

func TestInstallRefusesMissingBinary(t *testing.T) {
	cmd := exec.Command("sh", "install.sh", "--root", t.TempDir(), "--binary", "/nonexistent/kubelite")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no kubelite binary at /nonexistent/kubelite") {
		t.Errorf("err %v, output %s", err, out)
	}
}

// Without a token, a minion install says where the token goes; a malformed
// one is refused before anything is installed.
func TestInstallToken(t *testing.T) {
	bin := testutil.KubeliteBinary(t)
	root := t.TempDir()
	t.Setenv("KUBELITE_TOKEN", "")
	out := install(t, "--root", root, "--binary", bin, "--role", "minion")
	tokenFile := filepath.Join(root, "etc/kubernetes/token")
	if !strings.Contains(out, "A minion needs the join token in "+tokenFile) || !strings.Contains(out, "kubelite token") {
		t.Errorf("no hint where the token goes:\n%s", out)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file without --token: %v", err)
	}
	// The minion unit without its token: one line naming the three ways.
	argv := execStart(t, filepath.Join(root, "etc/systemd/system/kubelite-minion.service"))
	var args []string
	for _, a := range argv[1:] {
		args = append(args, strings.Replace(a, "=/etc/kubernetes", "="+filepath.Join(root, "etc/kubernetes"), 1))
	}
	cmd := exec.Command(filepath.Join(root, "usr/local/bin/kubelite"), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "no join token") || strings.Count(strings.TrimSpace(string(msg)), "\n") != 0 {
		t.Errorf("minion unit without a token: %v, %q; want exit 1 and one line", err, msg)
	}
	// With the token in place (KUBELITE_TOKEN is read too), the hint goes.
	t.Setenv("KUBELITE_TOKEN", token)
	out = install(t, "--root", root, "--binary", bin, "--role", "minion")
	if strings.Contains(out, "A minion needs the join token") || !strings.Contains(out, "installed "+tokenFile) {
		t.Errorf("with KUBELITE_TOKEN:\n%s", out)
	}

	bad := exec.Command("sh", "install.sh", "--root", t.TempDir(), "--binary", bin, "--token", "not-a-token")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "--token must be the K10") {
		t.Errorf("malformed token: %v\n%s", err, out)
	}
}
