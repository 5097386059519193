package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// Issue 17 item 6: hostile bodies and parameters get a 4xx, never an empty
// object, a silently dropped field or an overflow.

func TestHostileBodies(t *testing.T) {
	cases := []struct {
		name, path, body string
		code             int
		contains         []string
	}{
		{"null body", "/api/v1beta1/pods", `null`, http.StatusBadRequest, []string{"want a JSON object", "null"}},
		{"array body", "/api/v1beta1/pods", `[]`, http.StatusBadRequest, []string{"array"}},
		{"upper-case ID", "/api/v1beta1/pods",
			`{"ID":"x","desiredState":{"manifest":{"version":"v1beta1","containers":[{"name":"c","image":"i"}]}}}`,
			http.StatusBadRequest, []string{`unknown field \"ID\"`, `did you mean \"id\"`}},
		{"case-mangled desiredState", "/api/v1beta1/pods",
			`{"id":"x","Desiredstate":{"manifest":{"version":"v1beta1","containers":[{"name":"c","image":"i"}]}}}`,
			http.StatusBadRequest, []string{`unknown field \"Desiredstate\"`, `did you mean \"desiredState\"`}},
		{"unknown nested field", "/api/v1beta1/pods",
			`{"id":"x","desiredState":{"manifest":{"version":"v1beta1","containers":[{"name":"c","image":"i","privilegd":true}]}}}`,
			http.StatusBadRequest, []string{`desiredState.manifest.containers[0].privilegd`}},
		{"unknown top-level field", "/api/v1beta1/services", `{"id":"s","port":80,"selector":{"a":"b"},"evil":1}`,
			http.StatusBadRequest, []string{`unknown field \"evil\"`}},
		{"update with a mangled key", "/api/v1beta1/pods/web", `{"id":"web","DesiredState":{}}`,
			http.StatusBadRequest, []string{`DesiredState`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := seeded(t)
			h := newServer(t, st, apiserver.Config{}).Handler()
			method := http.MethodPost
			if strings.Count(tc.path, "/") == 4 {
				method = http.MethodPut
			}
			rec := do(h, method, tc.path, tc.body)
			if rec.Code != tc.code {
				t.Fatalf("%s %s: code %d, want %d: %s", method, tc.path, rec.Code, tc.code, rec.Body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(rec.Body.String(), c) {
					t.Errorf("body %s lacks %q", rec.Body, c)
				}
			}
			objs, _, err := st.List(t.Context(), api.Pods, store.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 2 {
				t.Errorf("%d pods stored after a refused write, want the 2 seeded", len(objs))
			}
		})
	}
}

// TestHostileBodiesTutorialAccepted: the strict decoding still takes every
// file of the tutorial exactly (as kubectl sends it: YAML as JSON).
func TestHostileBodiesTutorialAccepted(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "tutorial")
	var files []string
	for _, pat := range []string{"*.json", "yaml/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 6 {
		t.Fatalf("found %d tutorial files, want at least 6", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".yaml") {
			if data, err = yaml.YAMLToJSON(data); err != nil {
				t.Fatal(err)
			}
		}
		var h struct{ Kind string }
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatal(err)
		}
		res, ok := api.ResourceForKind(h.Kind)
		if !ok {
			t.Fatalf("%s: kind %q", f, h.Kind)
		}
		h2 := newServer(t, memory.New(), apiserver.Config{}).Handler()
		if rec := do(h2, http.MethodPost, "/api/v1beta1/"+string(res), string(data)); rec.Code != http.StatusCreated {
			t.Errorf("%s: code %d: %s", f, rec.Code, rec.Body)
		}
	}
}

func TestHostileWatchResourceVersion(t *testing.T) {
	h := newServer(t, seeded(t), apiserver.Config{}).Handler()
	for _, rv := range []string{
		"9223372036854775807",  // 2^63-1
		"9223372036854775808",  // 2^63
		"18446744073709551615", // 2^64-1
		"18446744073709551616", // 2^64
		"-1",
	} {
		// A watch that is accepted streams until its context ends: 2 s.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		req := httptest.NewRequest(http.MethodGet, "/api/v1beta1/watch/pods?resourceVersion="+rv, nil).WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cancel()
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusGone {
			t.Errorf("watch from %s: code %d, want 400 or 410: %s", rv, rec.Code, rec.Body)
		}
	}
}
