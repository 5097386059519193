package kubectl

import (
	"context"
	"fmt"

	"kubelite/internal/api"
)

func setupVersion(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var clientOnly bool
	f.Bool(&clientOnly, []string{"c", "client"}, false, "print only the client version")
	f.usage = "version [--client]"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("version: unexpected arguments %q", args)
		}
		fmt.Fprintf(e.Stdout, "Client Version: %s\n", formatVersion(e.ClientVersion))
		if clientOnly {
			return nil
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		v, err := c.ServerVersion(ctx)
		if err != nil {
			return fmt.Errorf("server version: %w", err)
		}
		fmt.Fprintf(e.Stdout, "Server Version: &%s\n", formatVersion(v))
		return nil
	}
}

// formatVersion prints a version as v0.6's kubectl did (Go's %#v of version.Info).
func formatVersion(v api.ServerVersion) string {
	return fmt.Sprintf("version.Info{Major:%q, Minor:%q, GitVersion:%q, GitCommit:%q, GitTreeState:%q}",
		v.Major, v.Minor, v.GitVersion, v.GitCommit, v.GitTreeState)
}
