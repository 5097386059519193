package testutil

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestReplaced(t *testing.T) {
	cases := []struct {
		name          string
		before, after map[string]string
		want          []string
	}{
		{"rebuilt", map[string]string{"a:1": "sha:1"}, map[string]string{"a:1": "sha:2"}, []string{"sha:1"}},
		{"unchanged (cached build)", map[string]string{"a:1": "sha:1"}, map[string]string{"a:1": "sha:1"}, nil},
		{"new", map[string]string{"a:1": ""}, map[string]string{"a:1": "sha:1"}, nil},
		{"old still named by another ref", map[string]string{"a:1": "sha:1", "a:2": "sha:1"},
			map[string]string{"a:1": "sha:3", "a:2": "sha:1"}, nil},
		{"two refs, one old image", map[string]string{"a:1": "sha:1", "a:2": "sha:1"},
			map[string]string{"a:1": "sha:3", "a:2": "sha:3"}, []string{"sha:1"}},
	}
	for _, tc := range cases {
		if got := replaced(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// fakeEngine answers image inspect and remove on a unix socket.
type fakeEngine struct {
	mu      sync.Mutex
	images  map[string]string // ref -> id
	removed []string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/images/")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(name, "/json"):
		id, ok := f.images[strings.TrimSuffix(name, "/json")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"Id":%q}`, id)
	case r.Method == http.MethodDelete:
		f.removed = append(f.removed, name)
		w.Write([]byte("[]"))
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

func TestRebuildImagesRemovesTheReplacedImage(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{images: map[string]string{"kubelite/webserver:v1": "sha256:old"}}
	srv := &http.Server{Handler: f}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	RebuildImages(t, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.images["kubelite/webserver:v1"] = "sha256:new"
		f.images["kubelite/pause:1"] = "sha256:pause"
		return nil
	}, "kubelite/webserver:v1", "kubelite/pause:1")
	if !reflect.DeepEqual(f.removed, []string{"sha256:old"}) {
		t.Fatalf("removed %v, want [sha256:old]", f.removed)
	}
}
