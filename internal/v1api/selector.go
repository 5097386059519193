package v1api

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// selectors are a request's ?labelSelector and ?fieldSelector in v1 syntax
// (set-based label selectors too). What the store can select on (equality
// on labels; the fields in kind.storeFields) is handed to it, so a watch
// sees an object leave the selection as DELETED exactly as v1beta1's
// watches do; everything is also checked on the v1 objects (matches).
type selectors struct {
	labels      labels.Selector
	fields      fields.Selector
	storeLabels api.Selector
	storeFields api.Selector
	// exact is true when the store's selection is the whole selection.
	exact bool
}

func parseSelectors(k *kind, q map[string][]string) (selectors, error) {
	get := func(key string) string {
		if v := q[key]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s := selectors{labels: labels.Everything(), fields: fields.Everything(), exact: true}
	var err error
	if ls := get("labelSelector"); ls != "" {
		if s.labels, err = labels.Parse(ls); err != nil {
			return s, badRequest("invalid labelSelector: " + err.Error())
		}
		reqs, _ := s.labels.Requirements()
		var terms []string
		for _, r := range reqs {
			vals := r.Values().List()
			switch r.Operator() {
			case selection.Equals, selection.DoubleEquals:
				terms = append(terms, r.Key()+"="+vals[0])
			case selection.NotEquals:
				terms = append(terms, r.Key()+"!="+vals[0])
			default:
				s.exact = false
			}
		}
		if s.storeLabels, err = api.ParseSelector(strings.Join(terms, ",")); err != nil {
			s.storeLabels, s.exact = api.Everything(), false
		}
	}
	if fs := get("fieldSelector"); fs != "" {
		if s.fields, err = fields.ParseSelector(fs); err != nil {
			return s, badRequest("invalid fieldSelector: " + err.Error())
		}
		known := k.fields(k.newV1())
		var terms []string
		for _, r := range s.fields.Requirements() {
			if _, ok := known[r.Field]; !ok {
				return s, badRequest(fmt.Sprintf("field label not supported: %s (%s selects on %s)", r.Field, k.name, strings.Join(sortedKeys(known), ", ")))
			}
			name, ok := k.storeFields[r.Field]
			if !ok || strings.ContainsAny(r.Value, ",=!") {
				s.exact = false
				continue
			}
			switch r.Operator {
			case selection.Equals, selection.DoubleEquals:
				terms = append(terms, name+"="+r.Value)
			case selection.NotEquals:
				terms = append(terms, name+"!="+r.Value)
			default:
				s.exact = false
			}
		}
		if s.storeFields, err = api.ParseSelector(strings.Join(terms, ",")); err != nil {
			s.storeFields, s.exact = api.Everything(), false
		}
	}
	return s, nil
}

// storeOptions is the part of the selection the store makes.
func (s selectors) storeOptions(ns string) store.ListOptions {
	return store.ListOptions{Namespace: ns, Labels: s.storeLabels, Fields: s.storeFields}
}

// matches checks the whole selection on a v1 object.
func (s selectors) matches(k *kind, o runtime.Object) bool {
	m := objectMeta(o)
	if !s.labels.Empty() && !s.labels.Matches(labels.Set(m.Labels)) {
		return false
	}
	if !s.fields.Empty() && !s.fields.Matches(k.fields(o)) {
		return false
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
