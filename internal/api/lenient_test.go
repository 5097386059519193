package api

import "testing"

func TestStripTrailingCommas(t *testing.T) {
	cases := map[string]string{
		`{"a": 1,}`:                 `{"a": 1}`,
		"{\"a\": [1, 2,\n ],\n}":    "{\"a\": [1, 2\n ]\n}",
		`{"s": ",}", "t": "\",]",}`: `{"s": ",}", "t": "\",]"}`,
		`{"a": 1, "b": }`:           `{"a": 1, "b": }`, // still malformed
		`[1,,]`:                     `[1,]`,
		`{"a":"\\",}`:               `{"a":"\\"}`,
	}
	for in, want := range cases {
		if got := string(StripTrailingCommas([]byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestTypographicQuote(t *testing.T) {
	line, col, q, ok := TypographicQuote([]byte("{\n  \"id\": \u201cweb\u201d}"))
	if !ok || line != 2 || col != 9 || q != '\u201c' {
		t.Fatalf("%d:%d %q %v", line, col, q, ok)
	}
	if _, _, _, ok := TypographicQuote([]byte(`{"id": "web"}`)); ok {
		t.Fatal("plain quotes found")
	}
}
