package images

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/clock"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files")

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

// steppingBuilder builds on the fake runtime and moves the fake clock, as
// a real build takes time.
type steppingBuilder struct {
	Builder
	clk  *clock.Fake
	step time.Duration
}

func (s steppingBuilder) BuildImage(ctx context.Context, b runtime.ImageBuild) error {
	s.clk.Step(s.step)
	return s.Builder.BuildImage(ctx, b)
}

// BuildEach reports each image as it is built: the lines `kubelite images`
// prints (golden), sized by what the image copies from the binary.
func TestBuildEachReports(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubelite")
	if err := os.WriteFile(bin, make([]byte, 2_500_000), 0o755); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	b := steppingBuilder{Builder: fake.New(fake.Options{}), clk: clk, step: 410 * time.Millisecond}
	var lines strings.Builder
	err := BuildEach(context.Background(), b, bin, clk, func(r Built) { lines.WriteString(r.String() + "\n") }, Names()...)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "build_each.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(lines.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to write it): %v", err)
	}
	if lines.String() != string(want) {
		t.Errorf("reported:\n%s\nwant:\n%s", lines.String(), want)
	}
	// A failed build stops with the image's name, after the ones before it.
	var done []string
	err = BuildEach(context.Background(), b, "/nonexistent", clk, func(r Built) { done = append(done, r.Tag) }, Pause, "nginx", Apache)
	if err == nil || !strings.Contains(err.Error(), `"nginx"`) || len(done) != 1 || done[0] != Pause {
		t.Errorf("BuildEach with an unknown image: %v, reported %v", err, done)
	}
}
