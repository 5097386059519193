package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Strict decoding. encoding/json matches object keys to struct fields
// without regard to case ("ID" fills id, "Desiredstate" fills desiredState)
// and drops keys that match nothing, so a typo or a mangled key is silently
// lost. UnknownFields finds them: every key of a JSON document that is not
// exactly (case-sensitively) the JSON name of a field of the object's type,
// at any depth. Values of types with their own UnmarshalJSON (IntOrString,
// time.Time) and map keys (labels, annotations) are not checked, but for
// those of jsonAs, checked as the type they read.

// ErrNotObject is returned by UnknownFields for a document that is not a
// JSON object (null, an array, a string...).
var ErrNotObject = errors.New("want a JSON object")

// UnknownField is one key of a document that names no field.
type UnknownField struct {
	// Path is the key's JSON path ("desiredState.manifest.containers[0].Image").
	Path string
	// Suggest is the field it differs from only by case, if any ("image").
	Suggest string
}

// UnknownFields returns the keys of data that do not name a field of obj's
// type, sorted by path; ErrNotObject when data is not a JSON object. Syntax
// errors are returned as json.Unmarshal returns them.
func UnknownFields(obj Object, data []byte) ([]UnknownField, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("%w, got %s", ErrNotObject, jsonKindOf(v))
	}
	var out []UnknownField
	walkFields(v, reflect.TypeOf(obj), "", &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func jsonKindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "a value"
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonAs holds the types with their own UnmarshalJSON that read the JSON of
// another type, by which the strict checks (walkFields, buildShape) walk
// them: a PodInfo is the object a map[string]ContainerStatus would be, so
// an unknown key in a container's status is found as before PodInfo was a
// slice.
var jsonAs = map[reflect.Type]reflect.Type{
	podInfoType: reflect.TypeFor[map[string]ContainerStatus](),
}

func walkFields(v any, t reflect.Type, path string, out *[]UnknownField) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if as, ok := jsonAs[t]; ok {
		t = as
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return // a type error: json.Unmarshal reports it
		}
		fields := fieldsOf(t)
		for k, val := range m {
			p := joinPath(path, k)
			if ft, ok := fields.byName[k]; ok {
				walkFields(val, ft, p, out)
				continue
			}
			uf := UnknownField{Path: p}
			if s, ok := fields.folded[strings.ToLower(k)]; ok {
				uf.Suggest = s
			}
			*out = append(*out, uf)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, val := range m {
			walkFields(val, t.Elem(), joinPath(path, k), out)
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return
		}
		for i, val := range a {
			walkFields(val, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

type structFields struct {
	byName map[string]reflect.Type
	folded map[string]string // lower-case name -> name
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf returns the JSON names of t's fields, with those of embedded
// structs without a name of their own (TypeMeta `json:",inline"`) promoted.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string]reflect.Type{}, folded: map[string]string{}}
	addFields(sf, t)
	fieldCache.Store(t, sf)
	return sf
}

func addFields(sf *structFields, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addFields(sf, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		sf.byName[name] = f.Type
		sf.folded[strings.ToLower(name)] = name
	}
}

// UnknownFieldsError is the 400 for a body with unknown fields, naming each
// (and the field meant, when only the case differs).
func UnknownFieldsError(kind string, unknown []UnknownField) error {
	if len(unknown) == 0 {
		return nil
	}
	causes := make([]StatusCause, len(unknown))
	msgs := make([]string, len(unknown))
	for i, u := range unknown {
		msg := fmt.Sprintf("unknown field %q", u.Path)
		if u.Suggest != "" {
			msg += fmt.Sprintf(" (did you mean %q? field names are case-sensitive)", u.Suggest)
		}
		causes[i] = StatusCause{Reason: CauseUnknownField, Field: u.Path, Message: msg}
		msgs[i] = msg
	}
	e := NewBadRequest(fmt.Sprintf("%s body: %s", kind, strings.Join(msgs, "; ")))
	e.Status.Details = &StatusDetails{Kind: kind, Causes: causes}
	return e
}

// CauseUnknownField names a key of a request body that is no field of the
// object (as Kubernetes' strict field validation reports it).
const CauseUnknownField = "FieldValueUnknown"
