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

	"sigs.k8s.io/yaml"

	"kubelite/internal/api"
)

// newTabWriter aligns columns the way v0.6's printer did.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 20, 5, 3, ' ', 0)
}

// columns returns a resource's table header.
func columns(res api.Resource) []string {
	switch res {
	case api.Pods:
		return []string{"NAME", "IMAGE(S)", "HOST", "LABELS", "STATUS"}
	case api.ReplicationControllers:
		return []string{"NAME", "IMAGE(S)", "SELECTOR", "REPLICAS"}
	case api.Services:
		return []string{"NAME", "LABELS", "SELECTOR", "IP", "PORT"}
	case api.Minions:
		return []string{"NAME", "LABELS", "STATUS"}
	case api.Events:
		return []string{"TIME", "NAME", "KIND", "STATUS", "REASON", "MESSAGE"}
	case api.EndpointsResource:
		return []string{"NAME", "ENDPOINTS"}
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
		return []string{formatTime(o.Timestamp), o.InvolvedObject.Name, o.InvolvedObject.Kind, o.Status, o.Reason, oneLine(o.Message)}
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
