package api

import (
	"reflect"
	"sync"
)

// OnlyKnownFields is UnknownFields' fast answer for the usual body, one
// whose every key names a field exactly: it walks data's bytes beside obj's
// type, allocating nothing, where UnknownFields decodes the whole document
// into maps first (a third of the server's CPU for a pod create).
//
// data must be a document json.Unmarshal has just decoded without error.
// True is certain: UnknownFields would find nothing. False means "look
// with UnknownFields": a key names no field, or the walk met something it
// leaves to the full decoder (a key with an escape, a top level that is
// not an object, bytes it does not expect).
func OnlyKnownFields(obj Object, data []byte) bool {
	w := fieldWalker{data: data}
	w.space()
	if w.i >= len(w.data) || w.data[w.i] != '{' {
		return false
	}
	if !w.value(shapeOf(reflect.TypeOf(obj))) {
		return false
	}
	w.space()
	return w.i == len(w.data)
}

// shape is what the walk checks of a Go type: a struct's fields by JSON
// name, or the shape of a map's values or a slice's items. A nil shape
// checks nothing (a type with its own UnmarshalJSON, a string, a number).
type shape struct {
	fields map[string]*shape // a struct: every key must be one of these
	isMap  bool              // a map: any key, values of elem
	elem   *shape            // a map's values, a slice's or array's items
}

var shapes sync.Map // reflect.Type -> *shape, of the types walked from

// shapeOf returns t's shape, built once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, s)
	return s
}

// buildShape follows walkFields: pointers are looked through, a type with
// its own decoder is not checked (but for those of jsonAs, checked as the
// type they read); seen ends the recursion of a type that holds itself.
func buildShape(t reflect.Type, seen map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if as, ok := jsonAs[t]; ok {
		t = as
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil
	}
	if s, ok := seen[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &shape{fields: map[string]*shape{}}
		seen[t] = s
		for name, ft := range fieldsOf(t).byName {
			s.fields[name] = buildShape(ft, seen)
		}
		return s
	case reflect.Map:
		s := &shape{isMap: true}
		seen[t] = s
		s.elem = buildShape(t.Elem(), seen)
		return s
	case reflect.Slice, reflect.Array:
		s := &shape{}
		seen[t] = s
		s.elem = buildShape(t.Elem(), seen)
		return s
	}
	return nil
}

// fieldWalker checks the keys of a JSON document against a shape, the way
// walkFields does on the decoded document.
type fieldWalker struct {
	data []byte
	i    int
}

func (w *fieldWalker) space() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value walks one value of shape s (nil: any, nothing checked).
func (w *fieldWalker) value(s *shape) bool {
	w.space()
	if w.i >= len(w.data) {
		return false
	}
	switch w.data[w.i] {
	case '{':
		switch {
		case s != nil && s.fields != nil:
			return w.object(s.fields, nil)
		case s != nil && s.isMap:
			return w.object(nil, s.elem)
		}
		return w.object(nil, nil)
	case '[':
		var elem *shape
		if s != nil && s.fields == nil && !s.isMap {
			elem = s.elem
		}
		return w.array(elem)
	case '"':
		_, ok := w.str(true)
		return ok
	}
	return w.literal()
}

// object walks an object: with fields, each key must be one of them (its
// value walked with the field's shape); otherwise each value is walked
// with elem (a map's values; nil checks nothing).
func (w *fieldWalker) object(fields map[string]*shape, elem *shape) bool {
	w.i++ // {
	w.space()
	if w.i < len(w.data) && w.data[w.i] == '}' {
		w.i++
		return true
	}
	for {
		w.space()
		key, ok := w.str(false)
		if !ok {
			return false
		}
		vs := elem
		if fields != nil {
			fs, known := fields[string(key)] // no allocation for the lookup
			if !known {
				return false
			}
			vs = fs
		}
		w.space()
		if w.i >= len(w.data) || w.data[w.i] != ':' {
			return false
		}
		w.i++
		if !w.value(vs) {
			return false
		}
		w.space()
		if w.i >= len(w.data) {
			return false
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case '}':
			w.i++
			return true
		default:
			return false
		}
	}
}

func (w *fieldWalker) array(elem *shape) bool {
	w.i++ // [
	w.space()
	if w.i < len(w.data) && w.data[w.i] == ']' {
		w.i++
		return true
	}
	for {
		if !w.value(elem) {
			return false
		}
		w.space()
		if w.i >= len(w.data) {
			return false
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case ']':
			w.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string and returns its raw bytes between the quotes. A key
// (escapes false) with an escape is refused: it would need unquoting.
func (w *fieldWalker) str(escapes bool) ([]byte, bool) {
	if w.i >= len(w.data) || w.data[w.i] != '"' {
		return nil, false
	}
	start := w.i + 1
	for j := start; j < len(w.data); j++ {
		switch c := w.data[j]; {
		case c == '"':
			w.i = j + 1
			return w.data[start:j], true
		case c == '\\' && escapes:
			j++ // the escaped byte; \uXXXX's digits need no care
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// literal skips a number, true, false or null.
func (w *fieldWalker) literal() bool {
	start := w.i
	for w.i < len(w.data) {
		c := w.data[w.i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E' {
			w.i++
			continue
		}
		break
	}
	return w.i > start
}
