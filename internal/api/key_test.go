package api

import "testing"

func TestParseKey(t *testing.T) {
	cases := []struct {
		key    string
		want   ObjectKey
		defNS  string
		roundT bool
	}{
		{"default/web", ObjectKey{"default", "web"}, "default", true},
		{"prod/web-1", ObjectKey{"prod", "web-1"}, "prod", true},
		{"minion-1", ObjectKey{"", "minion-1"}, DefaultNamespace, true},
		{"10.0.0.1", ObjectKey{"", "10.0.0.1"}, DefaultNamespace, true},
		{"", ObjectKey{}, DefaultNamespace, true},
		{"a/b/c", ObjectKey{"a", "b/c"}, "a", true},
	}
	for _, tc := range cases {
		got := ParseKey(tc.key)
		if got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, want %+v", tc.key, got, tc.want)
		}
		if got.NamespaceOrDefault() != tc.defNS {
			t.Errorf("ParseKey(%q).NamespaceOrDefault() = %q, want %q", tc.key, got.NamespaceOrDefault(), tc.defNS)
		}
		if got.String() != tc.key {
			t.Errorf("ParseKey(%q).String() = %q", tc.key, got.String())
		}
	}
	pod := &Pod{TypeMeta: TypeMeta{ID: "p", Namespace: "ns"}}
	if k := ParseKey(Key(pod)); k.Namespace != "ns" || k.ID != "p" {
		t.Errorf("ParseKey(Key(pod)) = %+v", k)
	}
}
