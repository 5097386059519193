package images

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"kubelite/internal/clock"
	"kubelite/internal/runtime"
)

// Image names.
const (
	Pause       = "kubelite/pause:1"
	WebserverV1 = "kubelite/webserver:v1"
	WebserverV2 = "kubelite/webserver:v2"
	Apache      = "fedora/apache:latest"
	LNMP        = "yorko/webserver:latest"
)

// binName is the build-context name of the kubelite binary.
const binName = "kubelite"

// dockerfiles maps each image to its Dockerfile.
var dockerfiles = map[string]string{
	Pause: `FROM scratch
COPY kubelite /pause
CMD ["/pause"]
`,
	WebserverV1: webserver("v1"),
	WebserverV2: webserver("v2"),
	Apache: `FROM scratch
COPY kubelite /usr/sbin/httpd
ENV WEB_VERSION=fedora-apache
EXPOSE 80
CMD ["/usr/sbin/httpd", "-DFOREGROUND"]
`,
	LNMP: `FROM scratch
COPY kubelite /bin/sh
COPY kubelite /usr/bin/supervisord
ENV WEB_VERSION=yorko-webserver
EXPOSE 80
CMD ["/usr/bin/supervisord", "-c", "/etc/supervisord.conf"]
`,
}

func webserver(version string) string {
	return `FROM scratch
COPY kubelite /webserver
ENV WEB_VERSION=` + version + `
EXPOSE 80
CMD ["/webserver"]
`
}

// Names lists every image this package can build, sorted.
func Names() []string {
	out := make([]string, 0, len(dockerfiles))
	for n := range dockerfiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Canonical returns the full name of a known image, accepting the short
// forms "fedora/apache" and "yorko/webserver", and false for unknown ones.
func Canonical(name string) (string, bool) {
	if _, ok := dockerfiles[name]; ok {
		return name, true
	}
	if !strings.Contains(name[strings.LastIndex(name, "/")+1:], ":") {
		if _, ok := dockerfiles[name+":latest"]; ok {
			return name + ":latest", true
		}
	}
	return "", false
}

// Spec returns the build of a known image from the binary at bin.
func Spec(name, bin string) (runtime.ImageBuild, error) {
	full, ok := Canonical(name)
	if !ok {
		return runtime.ImageBuild{}, fmt.Errorf("image %q: not one kubelite builds (known: %s)", name, strings.Join(Names(), ", "))
	}
	return runtime.ImageBuild{Tag: full, Dockerfile: dockerfiles[full], Files: map[string]string{binName: bin}}, nil
}

// Builder builds images; runtime.Runtime implementations are Builders.
type Builder interface {
	BuildImage(ctx context.Context, b runtime.ImageBuild) error
}

// Build builds the named images (all known ones when names is empty) from
// the static kubelite binary at bin.
func Build(ctx context.Context, b Builder, bin string, names ...string) error {
	return BuildEach(ctx, b, bin, clock.Real{}, nil, names...)
}

// Built is one image BuildEach has built.
type Built struct {
	Tag  string
	Size int64         // bytes the image's files take (its layers)
	Took time.Duration // the build, as clk measured it
}

// String is the line `kubelite images` prints for the image:
// "built kubelite/pause:1 (23.4 MB in 0.41s)".
func (b Built) String() string {
	return fmt.Sprintf("built %s (%.1f MB in %.2fs)", b.Tag, float64(b.Size)/1e6, b.Took.Seconds())
}

// BuildEach is Build calling report (when not nil) as each image is done,
// so a caller can print progress instead of staying silent for seconds.
func BuildEach(ctx context.Context, b Builder, bin string, clk clock.Clock, report func(Built), names ...string) error {
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		spec, err := Spec(n, bin)
		if err != nil {
			return err
		}
		start := clk.Now()
		if err := b.BuildImage(ctx, spec); err != nil {
			return fmt.Errorf("build image %s: %w", spec.Tag, err)
		}
		if report != nil {
			report(Built{Tag: spec.Tag, Size: contextSize(spec), Took: clk.Since(start)})
		}
	}
	return nil
}

// contextSize is what the image's COPY lines put in it: the size of each
// copied file, once per COPY (FROM scratch images have nothing else).
func contextSize(spec runtime.ImageBuild) int64 {
	var n int64
	for _, line := range strings.Split(spec.Dockerfile, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "COPY" {
			continue
		}
		if fi, err := os.Stat(spec.Files[f[1]]); err == nil {
			n += fi.Size()
		}
	}
	return n
}
