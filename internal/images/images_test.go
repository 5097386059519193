package images

import (
	"context"
	"strings"
	"testing"

	"kubelite/internal/runtime/fake"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"fedora/apache", Apache, true},
		{"fedora/apache:latest", Apache, true},
		{"yorko/webserver", LNMP, true},
		{"kubelite/webserver:v2", WebserverV2, true},
		{"kubelite/webserver", "", false},
		{"kubelite/pause:1", Pause, true},
		{"nginx", "", false},
		{"fedora/apache:2", "", false},
	}
	for _, tt := range tests {
		got, ok := Canonical(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSpecsAreScratchImagesOfTheBinary(t *testing.T) {
	for _, n := range Names() {
		s, err := Spec(n, "/tmp/kubelite")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.Dockerfile, "FROM scratch\n") || !strings.Contains(s.Dockerfile, "COPY kubelite /") || s.Files["kubelite"] != "/tmp/kubelite" {
			t.Errorf("%s: spec %+v", n, s)
		}
	}
	if _, err := Spec("nginx", "/x"); err == nil {
		t.Fatal("Spec of an unknown image succeeded")
	}
}

func TestBuildOnFake(t *testing.T) {
	rt := fake.New(fake.Options{Record: true})
	if err := Build(context.Background(), rt, "/tmp/kubelite", "fedora/apache", Pause); err != nil {
		t.Fatal(err)
	}
	for _, im := range []string{Apache, Pause} {
		if ok, _ := rt.HasImage(context.Background(), im); !ok {
			t.Errorf("%s not built", im)
		}
	}
	if err := Build(context.Background(), rt, "/x", "nginx"); err == nil {
		t.Fatal("Build of an unknown image succeeded")
	}
}
