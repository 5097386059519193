// Package kubectl is kubelite's command-line client, the v0.6 kubectl (plus
// the old kubecfg's run, resize, stop and rollingupdate): it parses a command
// line, talks to the API server over HTTP and prints tables, JSON, YAML or Go
// templates.
//
// Entry point: Run(ctx, args, stdin, stdout, stderr) runs one command line
// (args without the program name, e.g. ["get", "pods", "-l", "name=x"]) and
// returns an error for the caller to print ("Error: " + err) and turn into a
// non-zero exit; it never calls os.Exit and never panics on user input. It
// parses every flag itself, anywhere on the line, so a urfave/cli wrapper
// must pass the arguments through untouched (SkipFlagParsing). Runner is the
// same with its side effects injectable: the API client (Connect), the
// environment (Getenv) and the clock. The server is -s/--server, else
// $KUBERNETES_MASTER, else http://localhost:8080; for run, -s after the
// command is the service port (as in kubecfg) and --server the server.
//
// Behaviour worth knowing:
//   - create -f takes a file, a directory (its .json/.yaml/.yml files) or -
//     (stdin), JSON or YAML, one object, several YAML documents or a *List.
//     Syntax errors name the file, line and column (YAML: line); unknown
//     fields are errors. An RC whose template sets a hostPort gets a warning
//     that only one replica runs per minion and the rest stay Pending.
//   - delete rc sets replicas to 0, deletes the pods its selector matches,
//     deletes the RC, then sweeps pods a lagging manager made meanwhile
//     (--cascade=false deletes only the RC). stop waits for the pods to go.
//   - rollingupdate keeps the RC and its selector: it puts the new template
//     in, deletes one old pod at a time and waits for the RC's replacement
//     (from the new template) to be Running; a replacement made from the old
//     template by a manager that had not seen the update is deleted again.
//     If a replacement fails or is not Running within --timeout, the old
//     template is restored, the new template's non-Running pods deleted, and
//     the error says how many old pods were not touched. One at a time
//     (no surge) also works for RCs whose template binds a hostPort.
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
