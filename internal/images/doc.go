// Package images describes the container images kubelite builds locally from
// its own binary (no registry is ever needed): FROM scratch plus the static
// kubelite binary under the names its argv[0] dispatch answers to (see
// internal/testserver).
//
//	kubelite/pause:1           the pod infra container (/pause)
//	kubelite/webserver:v1, :v2 the test web server, version v1 / v2, port 80
//	fedora/apache              the tutorial's apache pod: /usr/sbin/httpd, port 80
//	yorko/webserver            the tutorial's lnmp image: /bin/sh (a minimal
//	                           "sh -c") and /usr/bin/supervisord (the web
//	                           server on port 80), so the tutorial's command
//	                           ["/bin/sh","-c","/usr/bin/supervisord -c ..."] runs
//
// Build takes anything with a BuildImage method (runtime/docker or the fake
// runtime), so this package never touches Docker itself: to build on an
// engine, docker.New(endpoint) and pass that.
//
// The binary must be static (CGO_ENABLED=0) to run in a scratch image.
package images
