package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Figure is one measured number of a scenario.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Median   float64 `json:"median"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Runs     int     `json:"runs"`
	// Peer is a figure measured in the same run to compare with (raw etcd, direct traffic).
	Peer       string  `json:"peer,omitempty"`
	PeerMedian float64 `json:"peerMedian,omitempty"`
	// Ratio is Median/PeerMedian when a peer was measured; for a peer
	// measured in pairs with the figure (WithPairedPeer), the median of
	// the pairs' ratios.
	Ratio  float64 `json:"ratio,omitempty"`
	Target string  `json:"target,omitempty"`
	// Met says whether the target was reached; nil when there is no target.
	Met *bool `json:"met,omitempty"`
}

// NewFigure summarizes a sample; runs is how many repeated runs it holds.
func NewFigure(scenario, name, unit string, s Sample) Figure {
	return Figure{Scenario: scenario, Name: name, Unit: unit, Median: s.Median(), Min: s.Min(), Max: s.Max(), Runs: len(s)}
}

// WithPeer adds a same-run peer figure and the ratio.
func (f Figure) WithPeer(name string, peer Sample) Figure {
	f.Peer = name
	f.PeerMedian = peer.Median()
	if f.PeerMedian != 0 {
		f.Ratio = f.Median / f.PeerMedian
	}
	return f
}

// WithPairedPeer adds a peer measured in pairs with own, the figure's
// sample (own[i] and peer[i] one right after the other): the ratio is the
// median of the pairs' ratios, so that a machine's drift between pairs
// cancels out instead of moving one median and not the other.
func (f Figure) WithPairedPeer(name string, own, peer Sample) Figure {
	f.Peer = name
	f.PeerMedian = peer.Median()
	f.Ratio = 0
	if r := PairRatios(own, peer); len(r) > 0 {
		f.Ratio = r.Median()
	}
	return f
}

// WithTarget records a target and whether the median reached it.
func (f Figure) WithTarget(text string, met bool) Figure {
	f.Target = text
	f.Met = &met
	return f
}

// Machine describes where the figures were measured.
type Machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryGB string `json:"memory"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
}

// Report is the whole output of a bench run.
type Report struct {
	Date     time.Time `json:"date"`
	Command  string    `json:"command"`
	Machine  Machine   `json:"machine"`
	Figures  []Figure  `json:"figures"`
	Errors   []string  `json:"errors,omitempty"`
	Left     []string  `json:"leftOut,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
	Duration string    `json:"duration"`
}

// DescribeMachine reads the machine's description from /proc.
func DescribeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown", MemoryGB: "unknown", Kernel: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); n == 1 {
				m.MemoryGB = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // targets read "p99 < 25 ms", not "\u003c"
	return enc.Encode(r)
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// WriteTable writes the report as an aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "kubelite bench  %s  (%s)\n", r.Date.UTC().Format("2006-01-02 15:04 UTC"), r.Command)
	fmt.Fprintf(w, "machine: %s, %d cores, %s, kernel %s, %s\n\n", r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGB, r.Machine.Kernel, r.Machine.Go)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFIGURE\tMEDIAN\tMIN..MAX\tRUNS\tPEER (same run)\tRATIO\tTARGET\tMET")
	for _, f := range r.Figures {
		peer, ratio := "", ""
		if f.Peer != "" {
			peer = f.Peer + " " + num(f.PeerMedian) + " " + f.Unit
			ratio = fmt.Sprintf("%.2f", f.Ratio)
		}
		met := ""
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s..%s\t%d\t%s\t%s\t%s\t%s\n", f.Scenario, f.Name, num(f.Median), f.Unit,
			num(f.Min), num(f.Max), f.Runs, peer, ratio, f.Target, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Left {
		fmt.Fprintf(w, "left out: %s\n", l)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "ERROR: %s\n", e)
	}
	fmt.Fprintf(w, "took %s\n", r.Duration)
	return nil
}
