package netfilter

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/coreos/go-iptables/iptables"
)

// Runner is the real Interface: single rules through go-iptables, whole
// tables through iptables-save and iptables-restore.
type Runner struct {
	ipt         *iptables.IPTables
	savePath    string
	restorePath string
	mu          sync.Mutex // one restore at a time from this process
}

var _ Interface = (*Runner)(nil)

// New finds iptables, iptables-save and iptables-restore (IPv4) on PATH.
func New() (*Runner, error) {
	ipt, err := iptables.New(iptables.Timeout(5))
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	save, err := exec.LookPath("iptables-save")
	if err != nil {
		return nil, fmt.Errorf("find iptables-save: %w", err)
	}
	restore, err := exec.LookPath("iptables-restore")
	if err != nil {
		return nil, fmt.Errorf("find iptables-restore: %w", err)
	}
	return &Runner{ipt: ipt, savePath: save, restorePath: restore}, nil
}

// EnsureChain creates chain unless it exists.
func (r *Runner) EnsureChain(table Table, chain Chain) error {
	if IsBuiltin(table, chain) {
		return nil
	}
	chains, err := r.ipt.ListChains(string(table))
	if err != nil {
		return fmt.Errorf("list chains of %s: %w", table, err)
	}
	for _, c := range chains {
		if c == string(chain) {
			return nil
		}
	}
	if err := r.ipt.NewChain(string(table), string(chain)); err != nil {
		return fmt.Errorf("create chain %s/%s: %w", table, chain, err)
	}
	return nil
}

// EnsureRule adds the rule unless it exists.
func (r *Runner) EnsureRule(pos Position, table Table, chain Chain, args ...string) (bool, error) {
	ok, err := r.ipt.Exists(string(table), string(chain), args...)
	if err != nil {
		return false, fmt.Errorf("check rule in %s/%s: %w", table, chain, err)
	}
	if ok {
		return true, nil
	}
	if pos == Prepend {
		err = r.ipt.Insert(string(table), string(chain), 1, args...)
	} else {
		err = r.ipt.Append(string(table), string(chain), args...)
	}
	if err != nil {
		return false, fmt.Errorf("add rule to %s/%s: %w", table, chain, err)
	}
	return false, nil
}

// DeleteRule removes the rule if present.
func (r *Runner) DeleteRule(table Table, chain Chain, args ...string) error {
	ok, err := r.ipt.Exists(string(table), string(chain), args...)
	if err != nil {
		var e *iptables.Error
		if errors.As(err, &e) && e.IsNotExist() {
			return nil
		}
		return fmt.Errorf("check rule in %s/%s: %w", table, chain, err)
	}
	if !ok {
		return nil
	}
	if err := r.ipt.Delete(string(table), string(chain), args...); err != nil {
		return fmt.Errorf("delete rule from %s/%s: %w", table, chain, err)
	}
	return nil
}

// Save runs iptables-save -t table.
func (r *Runner) Save(table Table) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.savePath, "-t", string(table))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("iptables-save -t %s: %w: %s", table, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Restore runs iptables-restore --noflush -w with data on stdin.
func (r *Runner) Restore(data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var stderr bytes.Buffer
	cmd := exec.Command(r.restorePath, "--noflush", "-w")
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
