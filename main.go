// Command kubelite is the Kubernetes v0.6.2 tutorial cluster as one binary.
// Everything happens in internal/cli; main only wires the process to it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"kubelite/internal/cli"
	"kubelite/internal/testserver"
)

func main() {
	// Image personalities (pause, webserver, ...) answer to argv[0].
	if handled, err := testserver.DispatchArgv0(os.Args); handled {
		os.Exit(testserver.Report(os.Stderr, os.Args[0], err))
	}
	if err := run(context.Background(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "kubelite: "+cli.Message(err))
		os.Exit(cli.ExitCode(err))
	}
}

// run cancels ctx on the first SIGINT or SIGTERM, so components stop in
// reverse order; a second signal kills the process the default way.
func run(ctx context.Context, args []string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return cli.Run(ctx, args, os.Stdin, os.Stdout, os.Stderr)
}
