package testutil

import (
	"fmt"
	"io"
	"os"
)

// copyFile copies src to dst (created or truncated, mode 0755): a private
// copy of a cached binary that go build may then find current.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Chmod(0o755); err != nil { // dst may exist with another mode
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
