// Command echoserver is the lab's test server: it answers every HTTP request
// with "<name> <hostname>\n" so a test can tell which container answered. It is
// built statically and packed into a FROM scratch image by the lab's tests.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", ":80", "listen address")
	name := flag.String("name", "echo", "name to answer with")
	flag.Parse()
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s %s\n", *name, host)
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}
