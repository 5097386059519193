package docker

import (
	"strings"
	"testing"

	"kubelite/internal/runtime"
)

// TestBinds needs no engine: the bind strings the engine receives.
func TestBinds(t *testing.T) {
	tests := []struct {
		name string
		in   []runtime.Mount
		want string // joined with ","; "error" when refused
	}{
		{"none", nil, ""},
		{"rw and ro", []runtime.Mount{{HostPath: "/data", ContainerPath: "/data"}, {HostPath: "/etc/httpd/conf", ContainerPath: "/etc/httpd/conf", ReadOnly: true}},
			"/data:/data,/etc/httpd/conf:/etc/httpd/conf:ro"},
		{"host option injection", []runtime.Mount{{HostPath: "/etc:/x:rshared", ContainerPath: "/x"}}, "error"},
		{"container option injection", []runtime.Mount{{HostPath: "/data", ContainerPath: "/x:rshared"}}, "error"},
		{"ro smuggled in the path", []runtime.Mount{{HostPath: "/data", ContainerPath: "/x:ro"}}, "error"},
		{"relative host", []runtime.Mount{{HostPath: "relative/dir", ContainerPath: "/x"}}, "error"},
		{"relative container", []runtime.Mount{{HostPath: "/data", ContainerPath: "x"}}, "error"},
		{"dot-dot", []runtime.Mount{{HostPath: "/data/../etc", ContainerPath: "/x"}}, "error"},
		{"NUL", []runtime.Mount{{HostPath: "/data\x00", ContainerPath: "/x"}}, "error"},
		{"one bad refuses all", []runtime.Mount{{HostPath: "/data", ContainerPath: "/d"}, {HostPath: "/a", ContainerPath: "/b:rshared"}}, "error"},
	}
	for _, tc := range tests {
		got, err := binds(tc.in)
		s := strings.Join(got, ",")
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("%s: binds = %q (%v), want %q", tc.name, s, err, tc.want)
		}
	}
}
