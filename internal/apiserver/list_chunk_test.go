package apiserver_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store/memory"
)

// A shared list larger than the buffer it is written through (items across
// buffer boundaries, and one item larger than the buffer) gives the plain
// path's bytes, with a Content-Length that is the body's length.
func TestSharedListLargerThanItsBuffer(t *testing.T) {
	mem := memory.New()
	for i := 0; i < 300; i++ {
		p := testPod(fmt.Sprintf("p%03d", i), "default", map[string]string{"app": "big"})
		p.Annotations = map[string]string{"note": strings.Repeat("x", 1000+i)}
		mustCreate(t, mem, p)
	}
	huge := testPod("huge", "default", nil)
	huge.Annotations = map[string]string{"note": strings.Repeat("h", 300<<10)}
	mustCreate(t, mem, huge)
	plain := newServer(t, mem, apiserver.Config{}).Handler()
	shared := newServer(t, &sharedStore{Store: mem, objs: map[string]api.Object{}}, apiserver.Config{}).Handler()
	for _, target := range []string{"/api/v1beta1/pods", "/api/v1beta2/pods?labels=app%3Dbig"} {
		want := do(plain, "GET", target, "")
		got := do(shared, "GET", target, "")
		if got.Code != 200 || got.Body.String() != want.Body.String() {
			t.Errorf("GET %s: got %d, %d bytes; want %d, %d bytes, the same", target, got.Code, got.Body.Len(), want.Code, want.Body.Len())
		}
		if cl := got.Header().Get("Content-Length"); cl != strconv.Itoa(got.Body.Len()) {
			t.Errorf("GET %s: Content-Length %s, body %d bytes", target, cl, got.Body.Len())
		}
	}
}
