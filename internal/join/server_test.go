package join

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/pki"
	"kubelite/internal/store/memory"
)

func TestBind(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	claim := Claim{Name: "m1", Fingerprint: "bbbb", From: "198.18.0.4", HostIP: "198.18.0.4", At: at}
	bound := func(fp string) map[string]string {
		return map[string]string{AnnotationCredential: fp, AnnotationJoinedFrom: "198.18.0.3", AnnotationJoinedAt: "2026-12-04T14:00:00Z"}
	}
	wantAnn := map[string]string{AnnotationCredential: "bbbb", AnnotationJoinedFrom: "198.18.0.4", AnnotationJoinedAt: "2026-12-05T09:30:00Z"}
	for _, tc := range []struct {
		name    string
		cur     *api.Minion
		want    *api.Minion
		wantErr string
	}{{
		name: "free name",
		want: &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", Annotations: wantAnn}, HostIP: "198.18.0.4"},
	}, {
		name: "registered before joins: claimed, the rest kept",
		cur: &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", ResourceVersion: 7, Labels: map[string]string{"zone": "a"}, Annotations: map[string]string{"note": "x"}},
			HostIP: "198.18.0.9", PodCIDR: "10.244.1.0/24", Unschedulable: true},
		want: &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", ResourceVersion: 7, Labels: map[string]string{"zone": "a"},
			Annotations: map[string]string{"note": "x", AnnotationCredential: "bbbb", AnnotationJoinedFrom: "198.18.0.4", AnnotationJoinedAt: "2026-12-05T09:30:00Z"}},
			HostIP: "198.18.0.4", PodCIDR: "10.244.1.0/24", Unschedulable: true},
	}, {
		name: "same key again",
		cur:  &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", ResourceVersion: 3, Annotations: bound("bbbb")}, HostIP: "198.18.0.3"},
		want: &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", ResourceVersion: 3, Annotations: wantAnn}, HostIP: "198.18.0.4"},
	}, {
		name: "held by another key",
		cur:  &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", Annotations: bound("aaaa")}},
		wantErr: `minion "m1" is already held by another credential (joined from 198.18.0.3 at 2026-12-04T14:00Z); ` +
			`this request from 198.18.0.4 asks for the same name: give this host another --hostname_override, ` +
			`or free the name with "kubectl delete minion m1"`,
	}, {
		name: "held, without where and when",
		cur:  &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", Annotations: map[string]string{AnnotationCredential: "aaaa"}}},
		wantErr: `minion "m1" is already held by another credential (joined from an unknown address at an unknown time); ` +
			`this request from 198.18.0.4 asks for the same name: give this host another --hostname_override, ` +
			`or free the name with "kubectl delete minion m1"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var before *api.Minion
			if tc.cur != nil {
				before = api.Copy(tc.cur)
			}
			got, err := Bind(tc.cur, claim)
			if tc.wantErr != "" {
				st := api.StatusOf(err)
				if err == nil || st.Code != http.StatusConflict || st.Message != tc.wantErr {
					t.Fatalf("err = %v (code %d)\nwant %s", err, st.Code, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if tc.cur != nil && !reflect.DeepEqual(tc.cur, before) {
				t.Error("Bind modified the stored object")
			}
			if causes := api.Validate(got); len(causes) > 0 {
				t.Errorf("bound minion is invalid: %v", causes)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   JoinRequest
		hosts []string
		bad   []string // fields
	}{
		{"ok", JoinRequest{Name: "m1", HostIP: "198.18.0.3", Hostnames: []string{"Host.Example.", "198.18.0.3", "::1"}}, []string{"198.18.0.3", "host.example", "::1", "m1"}, nil},
		{"ip name", JoinRequest{Name: "198.18.0.3", HostIP: "198.18.0.3"}, []string{"198.18.0.3"}, nil},
		{"no name", JoinRequest{}, nil, []string{"name"}},
		{"bad name", JoinRequest{Name: "M_1"}, nil, []string{"name"}},
		{"bad ip", JoinRequest{Name: "m1", HostIP: "1.2.3"}, nil, []string{"hostIP"}},
		{"bad hostname", JoinRequest{Name: "m1", Hostnames: []string{"ok", "not ok"}}, nil, []string{"hostnames[1]"}},
		{"too many", JoinRequest{Name: "m1", Hostnames: make([]string, maxHostnames+1)}, nil, []string{"hostnames"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts, err := validate(&tc.req)
			if tc.bad == nil {
				if err != nil || !reflect.DeepEqual(hosts, tc.hosts) {
					t.Fatalf("hosts %v err %v, want %v", hosts, err, tc.hosts)
				}
				return
			}
			st := api.StatusOf(err)
			if st.Code != http.StatusUnprocessableEntity || st.Details == nil {
				t.Fatalf("err = %v", err)
			}
			var fields []string
			for _, c := range st.Details.Causes {
				fields = append(fields, c.Field)
			}
			if !reflect.DeepEqual(fields, tc.bad) {
				t.Errorf("fields %v, want %v", fields, tc.bad)
			}
		})
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer s3cret", "s3cret", true},
		{"Bearer s3cre", "s3cret", false},
		{"Bearer s3cretX", "s3cret", false},
		{"bearer s3cret", "s3cret", false},
		{"s3cret", "s3cret", false},
		{"", "s3cret", false},
		{"Bearer ", "", false},
		{"Bearer x", "", false},
	} {
		err := checkSecret(tc.header, tc.want)
		if (err == nil) != tc.ok {
			t.Errorf("checkSecret(%q, %q) = %v", tc.header, tc.want, err)
		}
		if err != nil && api.StatusOf(err).Code != http.StatusUnauthorized {
			t.Errorf("checkSecret(%q, %q): code %d", tc.header, tc.want, api.StatusOf(err).Code)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	ca, err := pki.NewCA("t", t0)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{CA: ca, Secret: func() string { return "s" }, Store: memory.New()}
	h := s.Handler()
	csr, _, err := pki.NewCSR("x")
	if err != nil {
		t.Fatal(err)
	}
	body := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, tc := range []struct {
		name, method, path, auth, body string
		code                           int
	}{
		{"cacerts", "GET", CACertsPath, "", "", 200},
		{"cacerts post", "POST", CACertsPath, "", "", 405},
		{"join get", "GET", MinionPath, "Bearer s", "", 405},
		{"no auth", "POST", MinionPath, "", body(JoinRequest{Name: "m1", CSR: string(csr)}), 401},
		{"not json", "POST", MinionPath, "Bearer s", "name=m1", 400},
		{"bad csr", "POST", MinionPath, "Bearer s", body(JoinRequest{Name: "m1", CSR: "junk"}), 400},
		{"bad name", "POST", MinionPath, "Bearer s", body(JoinRequest{Name: "-m", CSR: string(csr)}), 422},
		{"too large", "POST", MinionPath, "Bearer s", body(JoinRequest{Name: "m1", CSR: strings.Repeat("x", MaxBodyBytes)}), 413},
		{"ok", "POST", MinionPath, "Bearer s", body(JoinRequest{Name: "m1", CSR: string(csr)}), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			switch {
			case tc.path == CACertsPath && tc.code == 200:
				if w.Body.String() != string(ca.CertPEM) {
					t.Error("cacerts body is not the CA PEM")
				}
			case tc.code != 200:
				var st api.Status
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Kind != "Status" || st.Code != tc.code || st.Message == "" || strings.Contains(st.Message, "\n") {
					t.Errorf("not a one-line Status: %s (%v)", w.Body, err)
				}
			}
		})
	}
}
