package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesTheEmbeddedFiles(t *testing.T) {
	h := Handler("/ui")
	for _, tc := range []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/ui", 200, "text/html", `<script src="app.js" defer></script>`},
		{"GET", "/ui/", 200, "text/html", "<title>kubelite</title>"},
		{"GET", "/ui/app.js", 200, "text/javascript", "/watch/"},
		{"GET", "/ui/style.css", 200, "text/css", "table"},
		{"HEAD", "/ui/app.js", 200, "text/javascript", ""},
		{"GET", "/ui/nothing.js", 404, "", ""},
		{"GET", "/ui/doc.go", 404, "", ""},
		{"GET", "/ui/static/app.js", 404, "", ""},
		{"GET", "/ui/../dashboard.go", 404, "", ""},
		{"POST", "/ui/", 405, "", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.code)
			continue
		}
		if tc.code != http.StatusOK {
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", tc.path, csp)
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s: body lacks %q", tc.path, tc.body)
		}
	}
}

// TestPageHasNoInlineScript: the CSP forbids inline script and handlers,
// so the page must not rely on them.
func TestPageHasNoInlineScript(t *testing.T) {
	b, err := files.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if strings.Count(page, "<script") != 1 || strings.Contains(page, " onclick=") || strings.Contains(page, " onload=") || strings.Contains(page, "style=") {
		t.Error("index.html has inline script, handlers or styles the Content-Security-Policy would block")
	}
}
