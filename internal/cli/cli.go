package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/testserver"
	"kubelite/internal/version"
)

// env is what the commands of one Run share.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	sys            config.System
}

// Run runs kubelite with args (args[0] is the program name) until the
// command finishes or ctx ends.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			logrus.Debugf("panic: %v\n%s", r, debug.Stack())
			err = fmt.Errorf("internal error: %v (please report it; run with --v=1 for details)", r)
		}
	}()
	if len(args) == 0 {
		args = []string{"kubelite"}
	}
	if filepath.Base(args[0]) == "kubectl" {
		args = append([]string{"kubelite", "kubectl"}, args[1:]...)
	}
	e := &env{stdout: stdout, stderr: stderr, stdin: stdin, sys: config.OS()}
	return newApp(e).RunContext(ctx, args)
}

func usageError(c *ucli.Context, err error, _ bool) error {
	name := "kubelite"
	top := true // urfave/cli names the top level's command after the app
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != name {
		name += " " + c.Command.Name
		top = false
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		msg = "unknown flag -" + strings.TrimLeft(f, "-")
		if len(strings.TrimLeft(f, "-")) > 1 {
			msg = "unknown flag --" + strings.TrimLeft(f, "-")
		}
		if top {
			return fmt.Errorf("%s: a role's flags come after it (kubelite ROLE %s; see kubelite ROLE --help)", msg, strings.TrimPrefix(msg, "unknown flag "))
		}
	}
	return fmt.Errorf("%s (see %s --help)", msg, name)
}

func newApp(e *env) *ucli.App {
	app := &ucli.App{
		Name:    "kubelite",
		Usage:   "the Kubernetes v0.6 tutorial cluster as one binary",
		Version: version.Get().String(),
		Description: "Roles: a master (API, scheduler, controllers, optionally etcd), minions (kubelet and proxy),\n" +
			"or both in one process (standalone). Start with: kubelite standalone",
		Writer:                 e.stdout,
		ErrWriter:              e.stderr,
		Reader:                 e.stdin,
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		ExitErrHandler:         func(*ucli.Context, error) {},
		OnUsageError:           usageError,
		Action: func(c *ucli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("unknown command %q: run kubelite --help", c.Args().First())
			}
			return ucli.ShowAppHelp(c)
		},
		Commands: []*ucli.Command{
			masterCommand(e),
			minionCommand(e),
			standaloneCommand(e),
			kubectlCommand(e),
			tokenCommand(e),
			kubeconfigCommand(e),
			etcdCommand(e),
			doctorCommand(e),
			versionCommand(e),
			completionCommand(e),
			manCommand(e),
			// Hidden: the image personalities (see internal/testserver).
			pauseCommand(e),
			webserverCommand(e),
			imagesCommand(e),
			benchCommand(e),
		},
	}
	for _, c := range app.Commands {
		if c.OnUsageError == nil {
			c.OnUsageError = usageError
		}
	}
	return app
}

// Message flattens err into the one line shown to a user.
func Message(err error) string {
	s := strings.TrimSpace(err.Error())
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// ExitCode maps err to the process's exit code: 0 for nil, the code an
// image personality or a urfave ExitCoder asks for, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var te *testserver.ExitError
	if errors.As(err, &te) {
		return te.Code
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return 1
}
