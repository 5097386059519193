package v1api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"kubelite/internal/api"
)

// Bodies: JSON, or YAML (a superset of JSON: the tutorial's v0.6 decoded
// bodies as YAML, which is why the blog's files with trailing commas were
// accepted). Field names are exact (case-sensitive). ?fieldValidation=
// Strict refuses unknown and duplicate fields (400 naming them), Warn (the
// default, as in Kubernetes) answers with a Warning header per field, Ignore
// drops them silently. Typographic quotes (the blog's “ ” ‘ ’) are a 400
// naming the character, its line and its column.

// readBody reads at most max bytes of the body (413 beyond).
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, api.NewTooLarge(max)
	}
	var rd io.Reader = io.LimitReader(r.Body, max+1)
	if w != nil {
		rd = http.MaxBytesReader(w, r.Body, max)
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, api.NewTooLarge(max)
		}
		return nil, badRequest("read body: " + err.Error())
	}
	if int64(len(data)) > max {
		return nil, api.NewTooLarge(max)
	}
	return data, nil
}

// fieldValidation is ?fieldValidation=.
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return "Warn", nil
	case "Strict", "Warn", "Ignore":
		return v, nil
	}
	return "", badRequest(fmt.Sprintf("invalid fieldValidation %q: want Strict, Warn or Ignore", v))
}

// decodeBody decodes the body as a v1 object of k, returning the warnings
// (unknown fields under Warn) to send.
func (h *Handler) decodeBody(w http.ResponseWriter, r *http.Request, k *kind) (runtime.Object, []string, error) {
	data, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		return nil, nil, err
	}
	mode, err := fieldValidation(r)
	if err != nil {
		return nil, nil, err
	}
	if isProtobuf(r) {
		obj := k.newV1()
		if err := fromProtobuf(data, obj); err != nil {
			return nil, nil, err
		}
		if data, err = json.Marshal(obj); err != nil {
			return nil, nil, fmt.Errorf("re-encode %s: %w", k.kind, err)
		}
	}
	return decodeObject(data, k, mode)
}

// protoMagic starts every Kubernetes protobuf body, then a runtime.Unknown
// holding the object's own protobuf encoding.
var protoMagic = []byte{'k', '8', 's', 0}

// isProtobuf reports a body in Kubernetes' protobuf encoding (what
// client-go's typed clientset sends by default).
func isProtobuf(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/vnd.kubernetes.protobuf"
}

// fromProtobuf decodes a protobuf body into obj (a generated type).
func fromProtobuf(data []byte, obj any) error {
	rest, ok := bytes.CutPrefix(data, protoMagic)
	if !ok {
		return badRequest("protobuf body without the k8s\\x00 prefix")
	}
	var u runtime.Unknown
	if err := u.Unmarshal(rest); err != nil {
		return badRequest("protobuf body: " + err.Error())
	}
	m, ok := obj.(interface{ Unmarshal([]byte) error })
	if !ok {
		return badRequest(fmt.Sprintf("protobuf body: %T has no protobuf form", obj))
	}
	if err := m.Unmarshal(u.Raw); err != nil {
		return badRequest(fmt.Sprintf("protobuf %s body: %v", u.Kind, err))
	}
	return nil
}

// decodeObject decodes data (JSON or YAML) into a new v1 object of k.
func decodeObject(data []byte, k *kind, mode string) (runtime.Object, []string, error) {
	js, err := ToJSON(data)
	if err != nil {
		return nil, nil, badRequest(fmt.Sprintf("%s body: %v", k.kind, err))
	}
	obj := k.newV1()
	strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, nil, badRequest(fmt.Sprintf("%s body: %v", k.kind, strings.TrimPrefix(err.Error(), "json: ")))
	}
	var warnings []string
	if len(strict) > 0 && mode != "Ignore" {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		if mode == "Strict" {
			return nil, nil, badRequest("strict decoding error: " + strings.Join(msgs, ", "))
		}
		warnings = msgs
	}
	tm := obj.GetObjectKind().GroupVersionKind()
	if tm.Kind != "" && tm.Kind != k.kind {
		return nil, nil, badRequest(fmt.Sprintf("body has kind %q, but %s holds %q objects", tm.Kind, k.name, k.kind))
	}
	if v := tm.GroupVersion().String(); tm.Version != "" && v != "v1" {
		return nil, nil, badRequest(fmt.Sprintf("body has apiVersion %q; /api/v1 takes v1 objects", v))
	}
	return obj, warnings, nil
}

// ToJSON returns data as JSON: JSON as it is, anything else decoded as
// YAML (which accepts the blog's trailing commas). Typographic quotes are
// an error naming them with their line and column; so is a body that is
// not a JSON object.
func ToJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty body")
	}
	if !json.Valid(trimmed) {
		if js := api.StripTrailingCommas(trimmed); json.Valid(js) {
			trimmed = js // the blog's trailing commas
		}
	}
	if json.Valid(trimmed) {
		if trimmed[0] != '{' {
			return nil, errors.New("want a JSON object")
		}
		return trimmed, nil
	}
	// Not JSON: a curly quote (inside a valid JSON string it is only text)
	// is what the blog's files have; YAML would take it as a letter.
	if line, col, q, ok := api.TypographicQuote(data); ok {
		return nil, fmt.Errorf("typographic quote %q at line %d, column %d: JSON and YAML need plain quotes (\" or ')", q, line, col)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %w", err)
	}
	if len(js) == 0 || js[0] != '{' {
		return nil, errors.New("want an object (JSON or YAML mapping)")
	}
	return js, nil
}

func setWarnings(w http.ResponseWriter, warnings []string) {
	for _, m := range warnings {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", m))
	}
}
