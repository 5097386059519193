package endpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, scheme, want, err string
	}{
		{"192.168.1.200:8080", "https", "https://192.168.1.200:8080", ""},
		{"192.168.1.200", "https", "https://192.168.1.200:8080", ""},
		{"m1", "http", "http://m1:8080", ""},
		{"http://m1:9000/", "https", "http://m1:9000", ""},
		{"https://[::1]:8080", "http", "https://[::1]:8080", ""},
		{" https://m1 ", "http", "https://m1:8080", ""},
		{"", "https", "", "no API address"},
		{"ftp://m1", "https", "", "scheme must be https or http"},
		{"http://m1:8080/api", "https", "", "without a path"},
		{"http://m1:0", "https", "", "port must be 1-65535"},
		{"http://m1:99999", "https", "", "port must be 1-65535"},
		{"http://:8080", "https", "", "no host"},
		{"http://u:p@m1:8080", "https", "", "without a path"},
	} {
		got, err := Normalize(tc.in, tc.scheme)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Normalize(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tc.in, tc.scheme, got, err, tc.want)
		}
	}
}

func TestEndpointParts(t *testing.T) {
	e := Endpoint{URL: "https://10.0.0.1:8080"}
	if !e.Secure() || e.HostPort() != "10.0.0.1:8080" || e.Host() != "10.0.0.1" {
		t.Fatalf("parts of %v: secure %v hostport %q host %q", e, e.Secure(), e.HostPort(), e.Host())
	}
	p, err := Plain("localhost")
	if err != nil || p.Secure() || p.URL != "http://localhost:8080" {
		t.Fatalf("Plain(localhost) = %v, %v", p, err)
	}
}

func TestBearer(t *testing.T) {
	var got []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer hs.Close()
	c := &http.Client{Transport: Endpoint{URL: hs.URL, Token: "s3cret"}.RoundTripper()}
	resp, err := c.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, hs.URL, nil)
	req.Header.Set("Authorization", "Bearer other")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c2 := &http.Client{Transport: Endpoint{URL: hs.URL}.RoundTripper()}
	resp, err = c2.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []string{"Bearer s3cret", "Bearer other", ""}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Authorization headers %q, want %q", got, want)
	}
}
