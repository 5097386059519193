package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs one command to completion and returns its combined output. An
// error names the command and carries its output.
type Runner interface {
	Run(ctx context.Context, argv ...string) ([]byte, error)
}

// ExecRunner runs commands on this machine.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("run: empty command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// FakeRunner records the commands it is given and fails those whose text
// starts with one of the prefixes in Fail.
type FakeRunner struct {
	Cmds []string
	Fail []string
}

var _ Runner = (*FakeRunner)(nil)

// Run implements Runner.
func (f *FakeRunner) Run(_ context.Context, argv ...string) ([]byte, error) {
	line := strings.Join(argv, " ")
	f.Cmds = append(f.Cmds, line)
	for _, p := range f.Fail {
		if strings.HasPrefix(line, p) {
			return nil, fmt.Errorf("%s: fake failure", line)
		}
	}
	return nil, nil
}
