package kubectl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Table cells are at least tableMinWidth wide, tablePadding more than
// their text.
const (
	tableMinWidth = 20
	tablePadding  = 3
)

// newTabWriter aligns columns the way v0.6's printer did.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, tableMinWidth, 5, tablePadding, ' ', 0)
}

// columns returns a resource's table header (api.Resources' Columns).
func columns(res api.Resource) []string {
	if info, ok := api.Info(res); ok && len(info.Columns) > 0 {
		return info.Columns
	}
	return []string{"NAME"}
}

// row returns the table cells of one object.
func row(obj api.Object) []string {
	switch o := obj.(type) {
	case *api.Pod:
		return []string{o.ID, images(o.DesiredState.Manifest.Containers), podHost(o), api.FormatLabels(o.Labels), podStatus(o)}
	case *api.ReplicationController:
		return []string{o.ID, images(o.DesiredState.PodTemplate.DesiredState.Manifest.Containers),
			api.FormatLabels(o.DesiredState.ReplicaSelector), strconv.Itoa(o.DesiredState.Replicas)}
	case *api.Service:
		return []string{o.ID, api.FormatLabels(o.Labels), api.FormatLabels(o.Selector), orNone(o.PortalIP), strconv.Itoa(o.Port)}
	case *api.Minion:
		return []string{o.ID, api.FormatLabels(o.Labels), minionStatus(o)}
	case *api.Event:
		return []string{formatTime(o.Timestamp), o.InvolvedObject.Name, o.InvolvedObject.Kind,
			subobject(o.InvolvedObject.FieldPath), eventReason(o), orNone(o.Source), oneLine(o.Message)}
	case *api.Endpoints:
		eps := strings.Join(o.Endpoints, ",")
		return []string{o.ID, orNone(eps)}
	}
	return []string{obj.Meta().ID}
}

// printTable writes objs as a table of res.
func printTable(w io.Writer, res api.Resource, objs []api.Object, noHeaders bool) error {
	tw := newTabWriter(w)
	if !noHeaders {
		fmt.Fprintln(tw, strings.Join(columns(res), "\t"))
	}
	for _, o := range objs {
		fmt.Fprintln(tw, strings.Join(row(o), "\t"))
	}
	return tw.Flush()
}

func images(cs []api.Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Image)
	}
	return strings.Join(out, ",")
}

// podHost is "host/hostIP" as v0.6 printed it, or <unassigned>.
func podHost(p *api.Pod) string {
	host := p.CurrentState.Host
	if host == "" {
		host = p.DesiredState.Host
	}
	if host == "" && p.CurrentState.HostIP == "" {
		return "<unassigned>"
	}
	return host + "/" + p.CurrentState.HostIP
}

// podStatus is the pod's phase (Pending when none is reported yet), with the
// reason a Pending pod waits, when it has one.
func podStatus(p *api.Pod) string {
	phase := p.CurrentState.Phase
	if phase == "" {
		phase = api.PodPhasePending
	}
	if phase == api.PodPhasePending {
		why := p.CurrentState.Message
		if why == "" {
			why = p.CurrentState.Reason
		}
		if why != "" {
			return string(phase) + " (" + oneLine(why) + ")"
		}
	}
	return string(phase)
}

func minionStatus(m *api.Minion) string {
	s := string(m.Status.Condition)
	if s == "" {
		s = string(api.MinionUnknown)
	}
	if m.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// subobject is the part of the object an event is about, as v0.6 printed
// it, without the pod's "desiredState.manifest." prefix: containers{web}.
func subobject(fieldPath string) string {
	return strings.TrimPrefix(fieldPath, "desiredState.manifest.")
}

// eventReason is the event's reason, with the status v0.6's recorders set
// (waiting, running, ...) when an event carries one: no kubelite component
// writes a status, so a STATUS column would always be empty.
func eventReason(ev *api.Event) string {
	if ev.Status != "" {
		return ev.Reason + " (" + ev.Status + ")"
	}
	return orNone(ev.Reason)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// printer prints objects in one output format.
type printer interface {
	// PrintList prints a list of res read at revision rv.
	PrintList(w io.Writer, res api.Resource, objs []api.Object, rv uint64) error
	// PrintObject prints one object.
	PrintObject(w io.Writer, res api.Resource, obj api.Object) error
}

// newPrinter returns the printer for -o and -t. An empty format is a table.
func newPrinter(format, tmpl string, noHeaders bool) (printer, error) {
	if tmpl != "" && format == "" {
		format = "template"
	}
	switch format {
	case "":
		return tablePrinter{noHeaders: noHeaders}, nil
	case "json":
		return encPrinter{enc: func(v interface{}) ([]byte, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			return append(b, '\n'), err
		}}, nil
	case "yaml":
		return encPrinter{enc: yaml.Marshal}, nil
	case "template":
		if tmpl == "" {
			return nil, fmt.Errorf("-o template needs a template: -t TEMPLATE")
		}
		t, err := template.New("output").Parse(tmpl)
		if err != nil {
			return nil, fmt.Errorf("parse template: %w", err)
		}
		return templatePrinter{t: t}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want json, yaml or template)", format)
}

type tablePrinter struct{ noHeaders bool }

func (p tablePrinter) PrintList(w io.Writer, res api.Resource, objs []api.Object, _ uint64) error {
	return printTable(w, res, objs, p.noHeaders)
}

func (p tablePrinter) PrintObject(w io.Writer, res api.Resource, obj api.Object) error {
	return printTable(w, res, []api.Object{obj}, p.noHeaders)
}

type encPrinter struct {
	enc func(interface{}) ([]byte, error)
}

func (p encPrinter) PrintList(w io.Writer, res api.Resource, objs []api.Object, rv uint64) error {
	list, err := api.NewList(res, objs, rv)
	if err != nil {
		return err
	}
	return p.PrintObject(w, res, list)
}

func (p encPrinter) PrintObject(w io.Writer, _ api.Resource, obj api.Object) error {
	api.SetKind(obj)
	b, err := p.enc(obj)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = w.Write(b)
	return err
}

type templatePrinter struct{ t *template.Template }

func (p templatePrinter) PrintList(w io.Writer, res api.Resource, objs []api.Object, rv uint64) error {
	list, err := api.NewList(res, objs, rv)
	if err != nil {
		return err
	}
	return p.PrintObject(w, res, list)
}

// PrintObject runs the template over the object's v1beta1 JSON as generic
// maps, so {{ .id }} and {{ .currentState.status }} work.
func (p templatePrinter) PrintObject(w io.Writer, _ api.Resource, obj api.Object) error {
	api.SetKind(obj)
	data, err := toGeneric(obj)
	if err != nil {
		return err
	}
	if err := p.t.Execute(w, data); err != nil {
		return fmt.Errorf("execute template: %w", err)
	}
	return nil
}

// toGeneric is obj's JSON as map[string]interface{} (numbers kept exact).
func toGeneric(obj interface{}) (interface{}, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out interface{}
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

// watchTable prints the table of `get -w`: an EVENT column first, the
// objects listed at the start as ADDED, then one row per change. Rows are
// written as they come (a tabwriter would hold them until a flush), so the
// columns are padded to the widest cell seen so far, at least the 20
// characters of the list tables. A row with a cell wider than its column
// so far widens the column and, under a header, prints the header again
// first: every block of rows lines up with the header above it.
type watchTable struct {
	w       io.Writer
	header  []string // nil with --no-headers
	widths  []int
	started bool // rows have been written
}

var _ printer = (*watchTable)(nil)

func newWatchTable(w io.Writer, res api.Resource, noHeaders bool) *watchTable {
	t := &watchTable{w: w}
	if !noHeaders {
		t.header = append([]string{"EVENT"}, columns(res)...)
	}
	return t
}

// PrintList implements printer: the header, then every object as ADDED.
func (t *watchTable) PrintList(_ io.Writer, _ api.Resource, objs []api.Object, _ uint64) error {
	rows := make([][]string, 0, len(objs)+1)
	for _, o := range objs {
		rows = append(rows, append([]string{string(store.Added)}, row(o)...))
	}
	if !t.started {
		// The listed objects size the columns before the header is written.
		for _, r := range rows {
			t.grow(r)
		}
		if t.header != nil {
			t.grow(t.header)
		}
		if err := t.start(); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := t.Row("", nil, r...); err != nil {
			return err
		}
	}
	return nil
}

// PrintObject implements printer: obj as ADDED.
func (t *watchTable) PrintObject(w io.Writer, res api.Resource, obj api.Object) error {
	return t.PrintList(w, res, []api.Object{obj}, 0)
}

// start writes the header if no row has been written yet.
func (t *watchTable) start() error {
	if t.started {
		return nil
	}
	t.started = true
	if t.header == nil {
		return nil
	}
	t.grow(t.header)
	return t.write(t.header)
}

// Row prints one watch event about obj (or the cells given instead).
func (t *watchTable) Row(eventType string, obj api.Object, cells ...string) error {
	r := cells
	if obj != nil {
		r = append([]string{eventType}, row(obj)...)
	}
	if !t.started {
		// The first rows (the list) size the columns before the header.
		t.grow(r)
		if t.header != nil {
			t.grow(t.header)
		}
		if err := t.start(); err != nil {
			return err
		}
	} else if t.grow(r) && t.header != nil {
		if err := t.write(t.header); err != nil {
			return err
		}
	}
	return t.write(r)
}

// grow widens the columns to fit r; it reports whether a column that
// already had rows under it (not the last, which is not padded) widened.
func (t *watchTable) grow(r []string) bool {
	widened := false
	for i, cell := range r {
		for len(t.widths) <= i {
			t.widths = append(t.widths, tableMinWidth)
		}
		if n := utf8.RuneCountInString(cell) + tablePadding; n > t.widths[i] {
			t.widths[i] = n
			widened = widened || i < len(r)-1
		}
	}
	return widened
}

func (t *watchTable) write(r []string) error {
	var b strings.Builder
	for i, cell := range r {
		b.WriteString(cell)
		if i < len(r)-1 {
			b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(cell)))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}
