package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

func TestPreferReturn(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		want   string
	}{
		{"none", nil, ""},
		{"minimal", []string{"return=minimal"}, "minimal"},
		{"representation", []string{"return=representation"}, "representation"},
		{"case and spaces", []string{"  Return = MINIMAL "}, "minimal"},
		{"quoted", []string{`return="minimal"`}, "minimal"},
		{"with parameters", []string{"return=minimal; foo=bar"}, "minimal"},
		{"among others", []string{"respond-async, wait=10, return=minimal"}, "minimal"},
		{"first of two counts", []string{"return=representation, return=minimal"}, "representation"},
		{"first of two fields counts", []string{"wait=5", "return=minimal", "return=representation"}, "minimal"},
		{"other preferences only", []string{"respond-async", "handling=lenient"}, ""},
		{"a name that only starts with return", []string{"returned=minimal"}, ""},
		{"empty value", []string{"return"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, f := range c.fields {
				h.Add("Prefer", f)
			}
			if got := apiserver.PreferReturn(h); got != c.want {
				t.Errorf("preferReturn(%q) = %q, want %q", c.fields, got, c.want)
			}
		})
	}
}

// A pod's status write answers the pod as stored, or, asked with Prefer:
// return=minimal, a Status carrying the version written (what a kubelet
// reads of it), saying so in Preference-Applied.
func TestPodStatusAnswer(t *testing.T) {
	reg := runningRegistry(t)
	h := newServer(t, reg, apiserver.Config{}).Handler()

	cases := []struct {
		prefer  string
		minimal bool
	}{
		{"", false},
		{"return=minimal", true},
		{"respond-async, return=minimal; x=1", true},
		{"return=representation", false},
	}
	for i, c := range cases {
		body := `{"id":"web","namespace":"default","currentState":{"status":"Running","host":"m1","podIP":"10.1.0.` + string(rune('2'+i)) + `"}}`
		req := httptest.NewRequest(http.MethodPut, "/api/v1beta1/pods/web/status?namespace=default", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if c.prefer != "" {
			req.Header.Set("Prefer", c.prefer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("Prefer %q: %d %s", c.prefer, rec.Code, rec.Body)
		}
		stored, err := reg.Get(context.Background(), api.Pods, "default", "web")
		if err != nil {
			t.Fatal(err)
		}
		want := stored.Meta().ResourceVersion
		var got struct {
			Kind            string             `json:"kind"`
			ResourceVersion uint64             `json:"resourceVersion"`
			Status          string             `json:"status"`
			Details         *api.StatusDetails `json:"details"`
			DesiredState    *api.PodState      `json:"desiredState"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("Prefer %q: answer %s: %v", c.prefer, rec.Body, err)
		}
		applied := rec.Header().Get("Preference-Applied")
		if c.minimal {
			if got.Kind != "Status" || got.Status != "Success" || got.Details == nil || got.Details.ID != "web" || got.DesiredState != nil || applied != "return=minimal" {
				t.Errorf("Prefer %q: answer %s, Preference-Applied %q; want a Success Status of web, return=minimal", c.prefer, rec.Body, applied)
			}
		} else if got.Kind != "Pod" || got.DesiredState == nil || got.DesiredState.Host != "m1" || applied != "" {
			t.Errorf("Prefer %q: answer %s, Preference-Applied %q; want the pod, none applied", c.prefer, rec.Body, applied)
		}
		if got.ResourceVersion != want {
			t.Errorf("Prefer %q: answer's resourceVersion %d, stored %d", c.prefer, got.ResourceVersion, want)
		}
	}
}

// runningRegistry is a registry over a memory store, running until the
// test ends, with a Ready minion m1 and a pod web bound to it.
func runningRegistry(tb testing.TB) *registry.Registry {
	reg := startRegistry(tb, memory.New())
	mustCreate(tb, reg, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "10.0.0.1", Status: api.MinionStatus{Condition: api.MinionReady}})
	pod := testPod("web", "default", map[string]string{"app": "web"})
	pod.DesiredState.Host = "m1"
	mustCreate(tb, reg, pod)
	return reg
}

// The server's share of a kubelet's status write, answered with the pod or
// with its new resourceVersion alone (Prefer: return=minimal), side by side:
//
//	go test -run '^$' -bench PodStatusServer -benchmem ./internal/apiserver/
func BenchmarkPodStatusServer(b *testing.B) {
	for _, prefer := range []string{"", api.PreferMinimal} {
		name := "pod"
		if prefer != "" {
			name = "minimal"
		}
		b.Run(name, func(b *testing.B) {
			reg := runningRegistry(b)
			h := newServer(b, reg, apiserver.Config{}).Handler()
			var pod api.Pod // the bench's pod (12 env vars, a port, limits), bound to m1
			if err := json.Unmarshal(benchPodBody(b, "bench"), &pod); err != nil {
				b.Fatal(err)
			}
			pod.DesiredState.Host = "m1"
			mustCreate(b, reg, &pod)
			bodies := [2][]byte{}
			for i, st := range []api.PodStatus{api.PodRunning, api.PodWaiting} {
				bodies[i] = []byte(`{"id":"bench","namespace":"default","currentState":{"status":"` + string(st) + `","host":"m1","podIP":"10.1.0.2"}}`)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPut, "/api/v1beta1/pods/bench/status?namespace=default", bytes.NewReader(bodies[i%2]))
				req.Header.Set("Content-Type", "application/json")
				if prefer != "" {
					req.Header.Set("Prefer", prefer)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status write %d: %d %s", i, rec.Code, rec.Body)
				}
				i++
			}
		})
	}
}
