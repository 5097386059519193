// Command imagebin is a static binary with only the image personalities of
// kubelite (pause, webserver, httpd, supervisord, sh): tests build images
// from it without needing the whole kubelite binary.
package main

import (
	"fmt"
	"os"

	"kubelite/internal/testserver"
)

func main() {
	handled, err := testserver.DispatchArgv0(os.Args)
	if !handled {
		fmt.Fprintln(os.Stderr, "imagebin: run me as pause, webserver, httpd, supervisord or sh")
		os.Exit(2)
	}
	if err != nil && testserver.ExitCode(err) == 1 {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(testserver.ExitCode(err))
}
