// Package testserver is the code behind kubelite's locally built images: the
// pod infra container ("pause") and a small web server that stands in for the
// tutorial's images (fedora/apache, yorko/webserver) and for the test images
// kubelite/webserver:v1 and :v2.
//
// The kubelite binary is copied into each image under several names and
// dispatches on argv[0], busybox style (see DispatchArgv0):
//
//	pause                          sleep until SIGTERM or SIGINT, then exit 0
//	webserver, httpd, supervisord  the web server (Run); port 80 unless set
//	sh                             a minimal "sh -c 'words'": execs the words
//
// main must call DispatchArgv0 first thing; when it reports handled, main
// exits with ExitCode(err). Run and Pause are exported for hidden
// subcommands (kubelite pause, kubelite webserver).
//
// The web server answers every path with the pod name (the host name) and
// the request's details, like the tutorial's info.php page, and:
//
//	/healthz      200 "ok", or 500 after /fail-health
//	/fail-health  makes /healthz fail from now on (/heal undoes it)
//	/exit?code=N  answers, then makes Run return an error with exit code N
//	/version      the version string (from --version or $WEB_VERSION)
//	/file?path=P  GET reads file P, POST writes the body to it (volume tests)
//
// Any name of the binary followed by the argument "healthcheck" GETs
// http://127.0.0.1:<port>/healthz and exits 0 when it answers 200, 1
// otherwise: a ready-made command for exec liveness probes.
package testserver
