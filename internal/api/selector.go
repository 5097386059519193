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

// FieldOf returns the selectable field key of obj, and whether obj's kind
// has it (pure; it allocates nothing: a watch matches every change against
// its watchers' field selectors with it).
func FieldOf(obj Object, key string) (string, bool) {
	m := obj.Meta()
	switch key {
	case FieldName, "id":
		return m.ID, true
	case "namespace":
		return m.Namespace, true
	}
	switch o := obj.(type) {
	case *Pod:
		switch key {
		case FieldDesiredStateHost, FieldStatusHost:
			return o.DesiredState.Host, true
		case FieldDesiredStatus:
			return string(o.DesiredState.Status), true
		case FieldStatusPhase:
			if o.CurrentState.Phase == "" {
				return string(PodPhasePending), true
			}
			return string(o.CurrentState.Phase), true
		case FieldCurrentStateHost:
			return o.CurrentState.Host, true
		case FieldCurrentStatus:
			return string(o.CurrentState.Status), true
		}
	case *Event:
		switch key {
		case FieldInvolvedName:
			return o.InvolvedObject.Name, true
		case FieldInvolvedKind:
			return o.InvolvedObject.Kind, true
		case FieldInvolvedNamespace:
			return o.InvolvedObject.Namespace, true
		case "reason":
			return o.Reason, true
		case "source":
			return o.Source, true
		}
	case *Minion:
		if key == "status.condition" {
			return string(o.Status.Condition), true
		}
	}
	return "", false
}

// fieldNames are the selectable fields of obj's kind (FieldOf's keys).
func fieldNames(obj Object) []string {
	names := []string{FieldName, "id", "namespace"}
	switch obj.(type) {
	case *Pod:
		names = append(names, FieldDesiredStateHost, FieldDesiredStatus, FieldStatusPhase, FieldStatusHost, FieldCurrentStateHost, FieldCurrentStatus)
	case *Event:
		names = append(names, FieldInvolvedName, FieldInvolvedKind, FieldInvolvedNamespace, "reason", "source")
	case *Minion:
		names = append(names, "status.condition")
	}
	return names
}

// FieldsOf returns the selectable fields of obj.
func FieldsOf(obj Object) map[string]string {
	names := fieldNames(obj)
	f := make(map[string]string, len(names))
	for _, n := range names {
		f[n], _ = FieldOf(obj, n)
	}
	return f
}

// MatchesFields reports whether obj's fields (FieldOf; one obj's kind
// lacks is "") satisfy every requirement: Matches(FieldsOf(obj)) without
// building the map.
func (s Selector) MatchesFields(obj Object) bool {
	for _, r := range s.reqs {
		v, _ := FieldOf(obj, r.Key)
		if (v == r.Value) != r.Equals {
			return false
		}
	}
	return true
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
