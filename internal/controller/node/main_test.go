package node

import (
	"os"
	"testing"

	"kubelite/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.NoLeaks(m).Run()) }
