package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test ./config -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test ./config -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func formatArgs(args []Arg, err error) string {
	var b strings.Builder
	for _, a := range args {
		fmt.Fprintf(&b, "%s:%d %s %s\n", filepath.ToSlash(a.File), a.Line, a.Var, a.Text)
	}
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	return b.String()
}

func TestParseEnvFileGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/parse/*.env")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			args, err := ParseEnvFile(filepath.Base(in), data)
			if strings.HasPrefix(filepath.Base(in), "error-") != (err != nil) {
				t.Errorf("error = %v, want an error only for error-* files", err)
			}
			golden(t, strings.TrimSuffix(in, ".env")[len("testdata/"):]+".golden", formatArgs(args, err))
		})
	}
}

// TestSamplesGolden parses the shipped samples (the tutorial's files).
func TestSamplesGolden(t *testing.T) {
	var b strings.Builder
	for _, role := range []struct {
		dir   string
		files []string
	}{{"samples/master", MasterFiles}, {"samples/minion", MinionFiles}} {
		args, read, err := ReadFiles(role.dir, role.files)
		if err != nil {
			t.Fatalf("%s: %v", role.dir, err)
		}
		if len(read) != len(role.files) {
			t.Errorf("%s: read %v, want all of %v", role.dir, read, role.files)
		}
		b.WriteString(formatArgs(args, nil))
	}
	golden(t, "samples.golden", b.String())
}

func TestSpellings(t *testing.T) {
	for _, tc := range []struct{ in, alias string }{
		{"portal_net", "portal-net"}, {"etcd-embed", "etcd_embed"}, {"port", ""},
	} {
		_, a := spellings(tc.in)
		if got := strings.Join(a, ","); got != tc.alias {
			t.Errorf("spellings(%q) aliases = %q, want %q", tc.in, got, tc.alias)
		}
	}
}

var fakeSys = System{
	Hostname: func() (string, error) { return "Laptop", nil },
	UID:      1000,
	Home:     "/home/alice",
	Getenv:   func(string) string { return "" },
}

// cleanEnv removes every environment fallback so the host's environment
// cannot leak into a test.
func cleanEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "KUBELITE_") || k == "DOCKER_HOST" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// resolve runs `kubelite ROLE ARGS...` through urfave/cli and returns the
// loaded config.
func resolve(t *testing.T, role string, args ...string) (any, []Setting, error) {
	t.Helper()
	var cfg any
	var flags []cli.Flag
	var loadFn func(*cli.Context) ([]Setting, error)
	switch role {
	case "master":
		m, f := NewMaster()
		cfg, flags, loadFn = m, f, func(c *cli.Context) ([]Setting, error) { return m.Load(c, fakeSys) }
	case "minion":
		n, f := NewMinion()
		cfg, flags, loadFn = n, f, func(c *cli.Context) ([]Setting, error) { return n.Load(c, fakeSys) }
	case "standalone":
		s, f := NewStandalone()
		cfg, flags, loadFn = s, f, func(c *cli.Context) ([]Setting, error) { return s.Load(c, fakeSys) }
	}
	var ss []Setting
	app := &cli.App{
		Name: "kubelite", Writer: io.Discard, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: role, Flags: flags, Action: func(c *cli.Context) error {
			var err error
			ss, err = loadFn(c)
			return err
		}}},
	}
	err := app.Run(append([]string{"kubelite", role}, args...))
	return cfg, ss, err
}

func TestResolveGolden(t *testing.T) {
	cleanEnv(t)
	for _, tc := range []struct {
		name, role string
		args       []string
	}{
		{"master-samples", "master", []string{"--config-dir=samples/master"}},
		{"master-samples-overridden", "master", []string{"--config-dir", "samples/master", "--port=9090", "--portal-net=10.100.0.0/16", "--machines", "a,b"}},
		{"master-embed-no-files", "master", []string{"--config-dir=testdata/none", "--etcd-embed"}},
		{"master-external-etcd", "master", []string{"--config-dir=", "--etcd_servers=10.0.0.1:2379, https://10.0.0.2:2379"}},
		{"minion-samples", "minion", []string{"--config-dir=samples/minion", "--token-file=testdata/token"}},
		{"minion-token-flag", "minion", []string{"--config-dir=", "--master=10.0.0.1", "--token=K10abc::s3cret", "--token-file=/nonexistent"}},
		{"minion-flags", "minion", []string{"--config-dir=", "--master=http://10.0.0.1", "--labels=zone=a,disk=ssd", "--proxy_mode=userspace", "--runtime=fake"}},
		{"minion-master-list", "minion", []string{"--config-dir=", "--master=10.0.0.1,10.0.0.2:8080, https://10.0.0.3:9000", "--token=K10abc::s3cret"}},
		{"standalone-default", "standalone", nil},
		{"standalone-json-logs", "standalone", []string{"--log_format=json", "--v=1"}},
		{"standalone-samples", "standalone", []string{"--config-dir=samples/master", "--etcd_servers=", "--address=127.0.0.1"}},
		// A command-line flag beats its exclusive partner set in a file.
		{"master-embed-over-file-servers", "master", []string{"--config-dir=samples/master", "--etcd-embed"}},
		{"master-servers-over-file-embed", "master", []string{"--config-dir=testdata/etcd-embed", "--etcd_servers=http://192.168.1.10:4001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ss, err := resolve(t, tc.role, tc.args...)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			js, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out := "$ kubelite " + tc.role + " " + strings.Join(tc.args, " ") + "\n" + FormatSettings(ss) + string(js) + "\n"
			golden(t, "resolve/"+tc.name+".golden", out)
		})
	}
}

func TestResolveErrors(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	bad := write("bad", "")
	os.WriteFile(filepath.Join(bad, "apiserver"), []byte("# ok\nKUBE_API_ARGS=\"--frobnicate=1\"\n"), 0o644)
	caps := write("caps", "")
	os.WriteFile(filepath.Join(caps, "apiserver"), []byte("KUBE_SERVICE_ADDRESSES=\"--PORTAL_NET=10.254.0.0/16\"\n"), 0o644)
	space := write("space", "")
	os.WriteFile(filepath.Join(space, "controller-manager"), []byte("KUBELET_ADDRESSES=\"--machines= 192.168.1.201,192.168.1.202\"\n"), 0o644)
	badval := write("badval", "")
	os.WriteFile(filepath.Join(badval, "config"), []byte("\n\nKUBE_API_PORT=\"--port=eighty\"\n"), 0o644)
	novalue := write("novalue", "")
	os.WriteFile(filepath.Join(novalue, "kubelet"), []byte("KUBELET_ARGS=\"--root-dir\"\n"), 0o644)
	badcidr := write("badcidr", "")
	os.WriteFile(filepath.Join(badcidr, "apiserver"), []byte("X=\"--portal_net=10.254.0.1/16\"\n"), 0o644)
	syntax := write("syntax", "")
	os.WriteFile(filepath.Join(syntax, "scheduler"), []byte("KUBE_SCHEDULER_ARGS=\"--v=1\n"), 0o644)

	for _, tc := range []struct {
		name, role string
		args       []string
		want       string // substring of the error
	}{
		{"unknown flag names file and line", "master", []string{"--etcd-embed", "--config-dir=" + bad}, "config file " + filepath.Join(bad, "apiserver") + " line 2: unknown flag --frobnicate for kubelite master"},
		{"upper case hint", "master", []string{"--etcd-embed", "--config-dir=" + caps}, "flag names are lower case: --portal_net"},
		{"space after equals", "master", []string{"--etcd-embed", "--config-dir=" + space}, "remove the space after '='"},
		{"bad value in file", "master", []string{"--etcd-embed", "--config-dir=" + badval}, "line 3: invalid value \"eighty\" for --port"},
		{"value missing", "minion", []string{"--master=m", "--config-dir=" + novalue}, "flag --root-dir needs a value"},
		{"cidr from file", "master", []string{"--etcd-embed", "--config-dir=" + badcidr}, "--portal_net=10.254.0.1/16 (from " + filepath.Join(badcidr, "apiserver") + ":1): not a network address; did you mean 10.254.0.0/16?"},
		{"syntax error", "master", []string{"--etcd-embed", "--config-dir=" + syntax}, "line 1: KUBE_SCHEDULER_ARGS: unterminated double quote"},
		{"master needs etcd", "master", []string{"--config-dir="}, "add --etcd-embed"},
		{"embed and servers", "master", []string{"--config-dir=", "--etcd-embed", "--etcd_servers=http://192.168.1.10:4001"}, "--etcd-embed and --etcd_servers exclude each other"},
		{"stray argument", "master", []string{"--etcd-embed", "extra"}, "takes no arguments"},
		{"minion needs master", "minion", []string{"--config-dir="}, "needs --master=HOST:PORT"},
		{"docker tcp refused", "minion", []string{"--config-dir=", "--master=m:8080", "--docker-endpoint=tcp://127.0.0.1:2375"}, "without TLS"},
		{"bad runtime", "minion", []string{"--config-dir=", "--master=m", "--runtime=rkt"}, "must be one of docker, fake"},
		{"bad proxy mode", "minion", []string{"--config-dir=", "--master=m", "--proxy-mode=ipvs"}, "must be one of iptables, userspace, none"},
		{"bad labels", "minion", []string{"--config-dir=", "--master=m", "--labels=novalue"}, "not key=value"},
		{"no token", "minion", []string{"--config-dir=", "--master=m", "--token-file=/nonexistent/token"}, "no join token: run `kubelite token` on the master"},
		{"etcd tls with embed", "master", []string{"--config-dir=", "--etcd-embed", "--etcd-cafile=/ca.crt"}, "are for an external etcd"},
		{"etcd cert without key", "master", []string{"--config-dir=", "--etcd_servers=https://e:2379", "--etcd-certfile=/c.crt"}, "go together"},
		{"bad master", "minion", []string{"--config-dir=", "--master=ftp://x"}, "scheme must be https or http"},
		{"bad log format", "master", []string{"--config-dir=", "--etcd-embed", "--log-format=xml"}, "--log-format=xml: must be one of text, json"},
		{"bad log format minion", "minion", []string{"--config-dir=", "--master=m1", "--log_format=logfmt"}, "--log-format=logfmt: must be one of text, json"},
		{"master list twice", "minion", []string{"--config-dir=", "--master=m1,m1:8080"}, "https://m1:8080 given twice"},
		{"master list empty entry", "minion", []string{"--config-dir=", "--master=m1,,m2"}, "an empty entry"},
		{"master list mixed schemes", "minion", []string{"--config-dir=", "--master=m1,http://m2"}, "every master of a list speaks TLS"},
		{"overlap", "master", []string{"--config-dir=", "--etcd-embed", "--cluster_cidr=10.254.0.0/24"}, "overlap"},
		{"same ports", "standalone", []string{"--port=10250"}, "both 10250"},
		{"yes without reset", "standalone", []string{"--yes"}, "--yes only goes with --reset"},
		{"bad etcd url", "master", []string{"--config-dir=", "--etcd_servers=ftp://x:1"}, "is not a URL like http://192.168.1.10:4001"},
		{"bad address", "master", []string{"--config-dir=", "--etcd-embed", "--address=localhost"}, "not an IP address"},
		{"negative duration", "master", []string{"--config-dir=", "--etcd-embed", "--pod_eviction_timeout=-1s"}, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := resolve(t, tc.role, tc.args...)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("A=\"--v=1 --port=7000\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "apiserver"), []byte("B=\"--port=7001\"\n"), 0o644)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		port int
		v    int
	}{
		{"later file wins over earlier", nil, nil, 7001, 1},
		{"command line wins over files", nil, []string{"--port=9000"}, 9000, 1},
		{"alias on command line wins too", nil, []string{"--v", "3"}, 7001, 3},
		{"environment wins over files", map[string]string{"KUBELITE_PORT": "9100"}, nil, 9100, 1},
		{"command line wins over environment", map[string]string{"KUBELITE_PORT": "9100"}, []string{"--port=9200"}, 9200, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, _, err := resolve(t, "master", append([]string{"--etcd-embed", "--config-dir=" + dir}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			m := cfg.(*Master)
			if m.Port != tc.port || m.Logging.V != tc.v {
				t.Errorf("port %d v %d, want %d %d", m.Port, m.Logging.V, tc.port, tc.v)
			}
		})
	}
}

func TestBothSpellings(t *testing.T) {
	cleanEnv(t)
	for _, role := range []string{"master", "minion", "standalone"} {
		var flags []cli.Flag
		switch role {
		case "master":
			_, flags = NewMaster()
		case "minion":
			_, flags = NewMinion()
		default:
			_, flags = NewStandalone()
		}
		seen := map[string]bool{}
		for _, f := range flags {
			names := f.Names()
			for _, n := range names {
				if seen[n] {
					t.Errorf("%s: flag name %q defined twice", role, n)
				}
				seen[n] = true
			}
			if strings.ContainsAny(names[0], "_-") && len(names) != 2 {
				t.Errorf("%s: --%s lacks its other spelling: %v", role, names[0], names)
			}
			if c, ok := f.(cli.CategorizableFlag); !ok || c.GetCategory() == "" {
				t.Errorf("%s: --%s has no category", role, names[0])
			}
			if e, ok := f.(interface{ GetEnvVars() []string }); !ok || len(e.GetEnvVars()) == 0 {
				t.Errorf("%s: --%s has no environment fallback", role, names[0])
			}
		}
	}
	cfg, _, err := resolve(t, "master", "--config-dir=", "--etcd_embed", "--portal-net=10.9.0.0/16", "--cluster-cidr=10.10.0.0/16", "--node-monitor-grace-period=5s")
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.(*Master)
	if !m.EtcdEmbed || m.PortalNet.String() != "10.9.0.0/16" || m.ClusterCIDR.String() != "10.10.0.0/16" || m.NodeMonitorGracePeriod.Seconds() != 5 {
		t.Errorf("dash/underscore spellings not applied: %+v", m)
	}
}

func TestStandaloneRootDataDir(t *testing.T) {
	cleanEnv(t)
	root := fakeSys
	root.UID = 0
	s, flags := NewStandalone()
	app := &cli.App{Name: "kubelite", Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "standalone", Flags: flags, Action: func(c *cli.Context) error { _, err := s.Load(c, root); return err }}}}
	if err := app.Run([]string{"kubelite", "standalone"}); err != nil {
		t.Fatal(err)
	}
	if s.Master.DataDir != DefaultDataDir || s.Minion.RootDir != DefaultDataDir+"/kubelet" {
		t.Errorf("root standalone dirs = %q %q", s.Master.DataDir, s.Minion.RootDir)
	}
}

func TestCheckDockerEndpoint(t *testing.T) {
	tls := func(k string) string {
		return map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"}[k]
	}
	none := func(string) string { return "" }
	for _, tc := range []struct {
		ep     string
		getenv func(string) string
		ok     bool
	}{
		{"unix:///var/run/docker.sock", none, true},
		{"unix://", none, false},
		{"tcp://127.0.0.1:2375", none, false},
		{"tcp://127.0.0.1:2376", tls, true},
		{"http://127.0.0.1:2375", tls, false},
		{"npipe:////./pipe/docker", none, false},
	} {
		if err := CheckDockerEndpoint(tc.ep, tc.getenv); (err == nil) != tc.ok {
			t.Errorf("CheckDockerEndpoint(%q) = %v, want ok=%v", tc.ep, err, tc.ok)
		}
	}
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=\"--x=1\"\n", "# c\nB='--y' \n", "C=\"\\\"\"", "D=a b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args, err := ParseEnvFile("fuzz", data)
		if err == nil {
			for _, a := range args {
				if a.Text == "" || strings.ContainsAny(a.Text, " \t\n") {
					t.Fatalf("bad arg %q", a.Text)
				}
			}
		}
	})
}

// TestREADMEListsEveryFlag keeps the README's flag tables complete.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, m := NewMaster()
	_, n := NewMinion()
	_, s := NewStandalone()
	for _, fl := range [][]cli.Flag{m, n, s} {
		for _, f := range fl {
			name := f.Names()[0]
			if !strings.Contains(string(readme), "`--"+name+"`") {
				t.Errorf("README.md does not document --%s", name)
			}
		}
	}
}
