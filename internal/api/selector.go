package api

import (
	"fmt"
	"sort"
	"strings"
)

// Selector is a conjunction of requirements on labels or fields, parsed from
// the v1beta1 syntax: "k=v", "k==v", "k!=v", joined by commas. The empty
// selector matches everything. A missing key reads as the empty string, so
// "DesiredState.Host=" selects unbound pods.
type Selector struct {
	reqs []Requirement
}

// Requirement is one term of a selector.
type Requirement struct {
	Key    string
	Equals bool // true for = and ==, false for !=
	Value  string
}

// Everything returns the selector that matches all.
func Everything() Selector { return Selector{} }

// ParseSelector parses the v1beta1 selector syntax.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	s = strings.TrimSpace(s)
	if s == "" {
		return sel, nil
	}
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			return Selector{}, fmt.Errorf("selector %q: empty term", s)
		}
		var r Requirement
		switch {
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = Requirement{Key: k, Equals: false, Value: v}
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = Requirement{Key: k, Equals: true, Value: v}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = Requirement{Key: k, Equals: true, Value: v}
		default:
			return Selector{}, fmt.Errorf("selector %q: term %q has no =, == or !=", s, term)
		}
		r.Key, r.Value = strings.TrimSpace(r.Key), strings.TrimSpace(r.Value)
		if r.Key == "" {
			return Selector{}, fmt.Errorf("selector %q: term %q has no key", s, term)
		}
		if strings.ContainsAny(r.Key, "=!") || strings.ContainsAny(r.Value, "=!") {
			return Selector{}, fmt.Errorf("selector %q: term %q has more than one operator", s, term)
		}
		sel.reqs = append(sel.reqs, r)
	}
	return sel, nil
}

// SelectorFromSet returns the selector requiring every pair of set.
func SelectorFromSet(set map[string]string) Selector {
	var sel Selector
	for k, v := range set {
		sel.reqs = append(sel.reqs, Requirement{Key: k, Equals: true, Value: v})
	}
	sort.Slice(sel.reqs, func(i, j int) bool { return sel.reqs[i].Key < sel.reqs[j].Key })
	return sel
}

// Empty reports whether the selector matches everything.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns the terms of the selector.
func (s Selector) Requirements() []Requirement { return append([]Requirement(nil), s.reqs...) }

// Matches reports whether set satisfies every requirement.
func (s Selector) Matches(set map[string]string) bool {
	for _, r := range s.reqs {
		if (set[r.Key] == r.Value) != r.Equals {
			return false
		}
	}
	return true
}

// RequiresExactly returns the value the selector requires for key, if it has
// an equality term on it (so a store can narrow a list, e.g. by host).
func (s Selector) RequiresExactly(key string) (string, bool) {
	for _, r := range s.reqs {
		if r.Key == key && r.Equals {
			return r.Value, true
		}
	}
	return "", false
}

// String renders the selector in canonical form ("a=b,c!=d").
func (s Selector) String() string {
	parts := make([]string, len(s.reqs))
	for i, r := range s.reqs {
		op := "="
		if !r.Equals {
			op = "!="
		}
		parts[i] = r.Key + op + r.Value
	}
	return strings.Join(parts, ",")
}

// Field names the API accepts in ?fields= on pods.
const (
	FieldName              = "name"
	FieldDesiredStateHost  = "DesiredState.Host"
	FieldDesiredStatus     = "DesiredState.Status"
	FieldStatusPhase       = "Status.Phase"
	FieldStatusHost        = "Status.Host"
	FieldCurrentStateHost  = "CurrentState.Host"
	FieldCurrentStatus     = "CurrentState.Status"
	FieldInvolvedName      = "involvedObject.name"
	FieldInvolvedKind      = "involvedObject.kind"
	FieldInvolvedNamespace = "involvedObject.namespace"
)

// FieldsOf returns the selectable fields of obj.
func FieldsOf(obj Object) map[string]string {
	m := obj.Meta()
	f := map[string]string{FieldName: m.ID, "id": m.ID, "namespace": m.Namespace}
	switch o := obj.(type) {
	case *Pod:
		f[FieldDesiredStateHost] = o.DesiredState.Host
		f[FieldDesiredStatus] = string(o.DesiredState.Status)
		phase := o.CurrentState.Phase
		if phase == "" {
			phase = PodPhasePending
		}
		f[FieldStatusPhase] = string(phase)
		f[FieldStatusHost] = o.DesiredState.Host
		f[FieldCurrentStateHost] = o.CurrentState.Host
		f[FieldCurrentStatus] = string(o.CurrentState.Status)
	case *Event:
		f[FieldInvolvedName] = o.InvolvedObject.Name
		f[FieldInvolvedKind] = o.InvolvedObject.Kind
		f[FieldInvolvedNamespace] = o.InvolvedObject.Namespace
		f["reason"] = o.Reason
		f["source"] = o.Source
	case *Minion:
		f["status.condition"] = string(o.Status.Condition)
	}
	return f
}

// ValidateFieldSelector checks that every key of sel is a field of resource r.
func ValidateFieldSelector(r Resource, sel Selector) error {
	obj := New(r)
	if obj == nil {
		return fmt.Errorf("unknown resource %q", r)
	}
	known := FieldsOf(obj)
	for _, req := range sel.reqs {
		if _, ok := known[req.Key]; !ok {
			keys := make([]string, 0, len(known))
			for k := range known {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return fmt.Errorf("field %q is not selectable on %s (selectable: %s)", req.Key, r, strings.Join(keys, ", "))
		}
	}
	return nil
}

// FormatLabels renders k=v pairs sorted by key, comma separated, or <none>
// for an empty set (how kubectl's tables show labels and selectors).
func FormatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
