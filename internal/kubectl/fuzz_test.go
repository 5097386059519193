package kubectl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/api"
)

// FuzzDecodeObjects: no input makes the file decoder panic, and every
// error names the file.
func FuzzDecodeObjects(f *testing.F) {
	for _, name := range []string{"apache-pod.json", "lnmp-replication.json", "lnmp-service.json", "yaml/lnmp-replication.yaml"} {
		data, err := os.ReadFile(filepath.Join(tutorialDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(name), data)
	}
	f.Add("x.json", []byte(`{"kind": "PodList", "items": [{"kind": "Pod", "id": "a", "desiredState": {"manifest": {"containers": [{"cpu": "x"}]}}}]}`))
	f.Add("-", []byte("kind: Pod\n---\nid: [\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name == "" || strings.ContainsAny(name, ":\n") {
			return
		}
		objs, err := decodeObjects(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Errorf("error %q does not start with the file name %q", err, name)
			}
			return
		}
		for _, d := range objs {
			api.SetDefaults(d.obj)
			_ = api.Validate(d.obj)
			_ = row(d.obj)
		}
	})
}
