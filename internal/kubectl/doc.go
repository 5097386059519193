// Package kubectl is kubelite's command-line client, the v0.6 kubectl (plus
// the old kubecfg's run, resize, stop and rollingupdate): it parses a command
// line, talks to the API server over HTTP and prints tables, JSON, YAML or Go
// templates.
//
// Entry point: Run(ctx, args, stdin, stdout, stderr) runs one command line
// (args without the program name, e.g. ["get", "pods"]) and returns an error
// for the caller to print and turn into a non-zero exit; it never calls
// os.Exit and never panics on user input. Runner is the same with its side
// effects injectable: the API client (Connect), the environment (Getenv)
// and the clock.
//
// The API is reached only through the Client interface defined here: a
// store.Store (objects: get, list, create, update, delete, watch) plus the
// two plain HTTP calls the CLI needs besides objects, /version and the
// master's minion proxy for container logs. The default Client is
// store/remote over HTTP; tests hand in a memory store.
//
// Layout: flags.go parses interspersed flags (kubectl get pods -l a=b),
// decode.go reads JSON or YAML files into API objects (syntax errors name the
// file, line and column), printer.go renders tables and the -o formats,
// describe.go the describe pages; cmd_*.go hold the commands. Printing and
// decoding are pure functions with golden tests in testdata/ (go test
// ./internal/kubectl -update rewrites them).
package kubectl
