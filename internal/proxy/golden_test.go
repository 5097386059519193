package proxy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/netfilter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCase is one testdata/golden/<name>.json input.
type goldenCase struct {
	name   string
	Mode   Mode   `json:"mode"`
	HostIP string `json:"hostIP"`
	// Existing is restore text loaded into the fake before the sync (rules a
	// previous run or another mode left).
	Existing  []string         `json:"existing"`
	Ports     map[string]int   `json:"ports"` // userspace listener ports
	Services  []*api.Service   `json:"services"`
	Endpoints []*api.Endpoints `json:"endpoints"`
}

// TestGolden runs one sync per input file against the fake iptables and
// compares the restore text it recorded, and the tables after it, with
// <name>.golden. A second sync must write the same text and add no rule.
func TestGolden(t *testing.T) {
	for _, gc := range loadGoldenCases(t) {
		file := "testdata/golden/" + gc.name + ".json"
		t.Run(gc.name, func(t *testing.T) {
			fake := netfilter.NewFake()
			if len(gc.Existing) > 0 {
				if err := fake.Restore([]byte(strings.Join(gc.Existing, "\n") + "\n")); err != nil {
					t.Fatalf("load existing rules: %v", err)
				}
			}
			p, err := New(Config{Mode: gc.Mode, HostIP: gc.HostIP, Netfilter: fake, Store: nopStore{}})
			if err != nil {
				t.Fatal(err)
			}
			p.listen = gc.listen
			before := len(fake.Restores)
			if _, _, err := p.syncObjects(gc.Services, gc.Endpoints, true); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := len(fake.Restores) - before; got != 1 {
				t.Fatalf("sync ran %d restores, want exactly 1", got)
			}
			restore := fake.LastRestore()
			nat, _ := fake.Save(netfilter.TableNAT)
			filter, _ := fake.Save(netfilter.TableFilter)
			var got bytes.Buffer
			got.WriteString("## iptables-restore --noflush input\n")
			got.Write(restore)
			got.WriteString("## nat table after the sync\n")
			got.Write(nat)
			got.WriteString("## filter table after the sync\n")
			got.Write(filter)

			goldenPath := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("sync output differs from %s (run with -update to accept):\n%s", goldenPath, lineDiff(string(want), got.String()))
			}

			// Nothing changed: an incremental sync writes nothing.
			restores := len(fake.Restores)
			if _, size, err := p.syncObjects(gc.Services, gc.Endpoints, false); err != nil || size != 0 {
				t.Fatalf("incremental sync without change: %d bytes, %v; want 0 bytes", size, err)
			}
			if len(fake.Restores) != restores {
				t.Errorf("incremental sync without change ran iptables-restore")
			}
			// Full syncs once converged (stale chains gone) write the same
			// text each time, and leave the tables as they were.
			ensured := fake.Calls["EnsureRule"]
			var texts [][]byte
			for i := 0; i < 2; i++ {
				if _, _, err := p.syncObjects(gc.Services, gc.Endpoints, true); err != nil {
					t.Fatalf("full sync %d: %v", i+2, err)
				}
				texts = append(texts, fake.LastRestore())
			}
			if !bytes.Equal(texts[0], texts[1]) {
				t.Errorf("full syncs wrote different texts:\n%s", lineDiff(string(texts[0]), string(texts[1])))
			}
			if !bytes.Contains(restore, []byte("-X ")) && !bytes.Equal(texts[0], restore) {
				t.Errorf("second full sync wrote different text:\n%s", lineDiff(string(restore), string(texts[0])))
			}
			nat2, _ := fake.Save(netfilter.TableNAT)
			filter2, _ := fake.Save(netfilter.TableFilter)
			if !bytes.Equal(nat, nat2) || !bytes.Equal(filter, filter2) {
				t.Errorf("later syncs changed the tables")
			}
			if fake.Calls["EnsureRule"] == ensured && len(jumpsFor(gc.Mode)) > 0 {
				t.Errorf("full sync did not re-check the jumps")
			}
		})
	}
}

func loadGoldenCases(t *testing.T) []*goldenCase {
	t.Helper()
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	var out []*goldenCase
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		gc := &goldenCase{name: strings.TrimSuffix(filepath.Base(file), ".json")}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(gc); err != nil {
			t.Fatalf("decode %s: %v", file, err)
		}
		out = append(out, gc)
	}
	return out
}

// listen stands in for the userspace listeners: the ports come from the input.
func (gc *goldenCase) listen(svcs []service, _ map[string]int) (map[string]int, []error) {
	out := map[string]int{}
	for _, s := range svcs {
		if port, ok := gc.Ports[s.Name]; ok {
			out[s.Name] = port
		}
	}
	return out, nil
}

// lineDiff shows the lines only in want (-) and only in got (+), in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]int{}, map[string]int{}
	for _, l := range w {
		inW[l]++
	}
	for _, l := range g {
		inG[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if inG[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if inW[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order or count)\n--- want\n" + want + "\n--- got\n" + got
	}
	return b.String()
}
