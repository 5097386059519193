package kubectl

import (
	"testing"

	"kubelite/internal/api"
)

// TestColumnsTable walks api.Resources: each stored resource's printer row
// has one cell per column of its row in the table.
func TestColumnsTable(t *testing.T) {
	for _, info := range api.Resources {
		if !info.Stored {
			continue
		}
		obj := info.New()
		obj.Meta().ID = "x"
		if got, want := len(row(obj)), len(columns(info.Resource)); got != want || want != len(info.Columns) {
			t.Errorf("%s: %d cells, %d columns (the table has %d)", info.Resource, got, want, len(info.Columns))
		}
	}
}
