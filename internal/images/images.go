package images

import (
	"context"
	"fmt"
	"sort"
	"strings"

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
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		spec, err := Spec(n, bin)
		if err != nil {
			return err
		}
		if err := b.BuildImage(ctx, spec); err != nil {
			return fmt.Errorf("build image %s: %w", spec.Tag, err)
		}
	}
	return nil
}
