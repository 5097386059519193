package api

import (
	"reflect"
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
	if !w.value(reflect.TypeOf(obj)) {
		return false
	}
	w.space()
	return w.i == len(w.data)
}

// fieldWalker checks the keys of a JSON document against a Go type, the
// way walkFields does on the decoded document.
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

// value walks one value whose Go type is t (nil: any, nothing checked).
func (w *fieldWalker) value(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType)) {
		t = nil // its own decoder: not checked, as in walkFields
	}
	w.space()
	if w.i >= len(w.data) {
		return false
	}
	switch w.data[w.i] {
	case '{':
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			return w.object(fieldsOf(t), nil)
		case t != nil && t.Kind() == reflect.Map:
			return w.object(nil, t.Elem())
		}
		return w.object(nil, nil)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		return w.array(elem)
	case '"':
		_, ok := w.str(true)
		return ok
	}
	return w.literal()
}

// object walks an object: with fields, each key must be one of them (its
// value walked with the field's type); otherwise each value is walked with
// elem (a map's values; nil checks nothing).
func (w *fieldWalker) object(fields *structFields, elem reflect.Type) bool {
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
		vt := elem
		if fields != nil {
			ft, known := fields.byName[string(key)] // no allocation for the lookup
			if !known {
				return false
			}
			vt = ft
		}
		w.space()
		if w.i >= len(w.data) || w.data[w.i] != ':' {
			return false
		}
		w.i++
		if !w.value(vt) {
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

func (w *fieldWalker) array(elem reflect.Type) bool {
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
