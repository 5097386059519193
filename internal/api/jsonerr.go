package api

import (
	"encoding/json"
	"errors"
	"strings"
)

// Where encoding/json's decode errors point. Its offsets mean different
// things by implementation: the classic one reports a syntax error after
// the offending byte and a type error after the value it could not store;
// the v2 one (GOEXPERIMENT=jsonv2 on Go 1.26, the default from Go 1.27)
// at the byte and at the start of the value. Each is
// learnt once from the implementation built in, so errors name the same
// line and column whichever it is.
var (
	syntaxPastByte = learnSyntaxPastByte()
	typeAtValueEnd = learnTypeAtValueEnd()
)

func learnSyntaxPastByte() bool {
	var v any
	var se *json.SyntaxError
	if errors.As(json.Unmarshal([]byte("[}"), &v), &se) {
		return se.Offset == 2 // the classic implementation; 1: the byte itself
	}
	return true
}

func learnTypeAtValueEnd() bool {
	var v struct {
		A int `json:"a"`
	}
	var te *json.UnmarshalTypeError
	if errors.As(json.Unmarshal([]byte(`{"a":"x"}`), &v), &te) {
		return te.Offset == 8 // the end of "x" (classic); 5: its opening quote
	}
	return true
}

// JSONErrorAt returns the index in data of the byte a decode error of data
// points at: a syntax error's offending byte (the last byte when the input
// ends too soon), the first byte of the value a type error could not store
// (a string's opening quote); -1 for any other error, and for a type error
// with a negative Offset (PodInfo's: a JSON method is handed its value
// alone, so it cannot say where in the document the value is; its Field
// names it).
func JSONErrorAt(data []byte, err error) int64 {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var i int64
	switch {
	case errors.As(err, &se):
		i = se.Offset
		if syntaxPastByte {
			i--
		}
	case errors.As(err, &te):
		if te.Offset < 0 {
			return -1
		}
		i = te.Offset
		if typeAtValueEnd {
			i = valueStart(data, te.Offset)
		}
	default:
		return -1
	}
	return max(0, min(i, int64(len(data))-1))
}

// valueStart finds where the JSON value ending at end (exclusive) begins:
// the opening quote of a string, else the first character of the literal.
func valueStart(data []byte, end int64) int64 {
	if end <= 0 || end > int64(len(data)) {
		return 0
	}
	i := end - 1
	if data[i] == '"' {
		for i--; i >= 0; i-- {
			if data[i] == '"' && (i == 0 || data[i-1] != '\\') {
				return i
			}
		}
		return 0
	}
	for i > 0 && !strings.ContainsRune(",:[{ \t\r\n", rune(data[i-1])) {
		i--
	}
	return i
}

// JSONFieldPath is a type error's field path without array indexes
// (containers.cpu, not containers.0.cpu): the classic implementation names
// none, the v2 one names each; without them the path is the same in both.
func JSONFieldPath(field string) string {
	if !strings.ContainsAny(field, "0123456789") {
		return field
	}
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}
