// Command echoserver is the lab's test server: it answers every HTTP request
// with "<name> <hostname> from <client address>\n", so a test can tell which
// container answered and whether the client's address was translated. With
// -get URL it is the client instead: it prints URL's body and exits (1 on
// failure). It is built statically and packed into a FROM scratch image by
// the tests (lab.BuildEcho).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", ":80", "listen address")
	name := flag.String("name", "echo", "name to answer with")
	get := flag.String("get", "", "fetch this URL, print its body and exit")
	flag.Parse()
	if *get != "" {
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(*get)
		if err != nil {
			fmt.Fprintln(os.Stderr, "echoserver:", err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(os.Stdout, resp.Body)
		return
	}
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s from %s\n", *name, host, r.RemoteAddr)
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}
