package kubectl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"kubelite/internal/api"
)

// maxFileSize bounds what the CLI reads from one file (the API takes 3 MiB).
const maxFileSize = 3 << 20

// source is one input file (or stdin, named "-").
type source struct {
	name string
	data []byte
}

// decoded is one object read from a source.
type decoded struct {
	source string
	res    api.Resource
	obj    api.Object
}

// readSources reads -f: a file, every .json/.yaml/.yml file of a directory
// (sorted, not recursive), or stdin for "-".
func readSources(path string, stdin io.Reader) ([]source, error) {
	if path == "" {
		return nil, errors.New("no file given: use -f FILE, -f DIR or -f -")
	}
	if path == "-" {
		data, err := io.ReadAll(io.LimitReader(stdin, maxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		if len(data) > maxFileSize {
			return nil, fmt.Errorf("stdin: larger than %d bytes", maxFileSize)
		}
		return []source{{name: "-", data: data}}, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".json", ".yaml", ".yml":
				if !e.IsDir() {
					files = append(files, filepath.Join(path, e.Name()))
				}
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no .json, .yaml or .yml files", path)
		}
	} else {
		files = []string{path}
	}
	var out []source
	for _, f := range files {
		data, err := readCapped(f)
		if err != nil {
			return nil, err
		}
		out = append(out, source{name: f, data: data})
	}
	return out, nil
}

// readCapped reads at most maxFileSize bytes of the file f. The cap is on
// what is read, not on what stat says: a device (/dev/zero), a pipe or a
// file under /proc reports no size and never ends.
func readCapped(f string) ([]byte, error) {
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d bytes the API takes", f, fi.Size(), maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than the %d bytes the API takes", f, maxFileSize)
	}
	return data, nil
}

// decodeSources decodes every object of every source, stopping at the first error.
func decodeSources(srcs []source) ([]decoded, error) {
	var out []decoded
	for _, s := range srcs {
		objs, err := decodeObjects(s.name, s.data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// isYAML decides the format: by extension, else JSON when the first
// non-blank character is '{' or '['.
func isYAML(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return false
	case ".yaml", ".yml":
		return true
	}
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return !(len(t) > 0 && (t[0] == '{' || t[0] == '['))
}

var yamlLine = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// decodeObjects reads the objects of one file: a JSON object, a YAML
// document (or several separated by ---), or a *List of items.
func decodeObjects(name string, data []byte) ([]decoded, error) {
	if !isYAML(name, data) {
		if json.Valid(data) {
			return decodeJSONDoc(name, data, data)
		}
		// v0.6 read files as YAML, a superset of JSON: the blog's files
		// with trailing commas created (and still do; nothing else of YAML
		// in a .json file). Its curly quotes are named.
		if line, col, q, ok := api.TypographicQuote(data); ok {
			return nil, fmt.Errorf("%s:%d:%d: typographic quote %q: JSON needs plain quotes (\")", name, line, col, q)
		}
		if js := api.StripTrailingCommas(data); json.Valid(js) {
			return decodeJSONDoc(name, js, nil)
		}
		return decodeJSONDoc(name, data, data) // the JSON error, with line and column
	}
	var out []decoded
	for _, doc := range splitYAML(data) {
		if len(bytes.TrimSpace(stripYAMLComments(doc.data))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc.data)
		if err != nil {
			msg := err.Error()
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				return nil, fmt.Errorf("%s:%d: yaml syntax error: %s", name, n+doc.line-1, m[2])
			}
			return nil, fmt.Errorf("%s:%d: yaml syntax error: %s", name, doc.line, strings.TrimPrefix(msg, "error converting YAML to JSON: "))
		}
		objs, err := decodeJSONDoc(name, js, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no objects", name)
	}
	return out, nil
}

type yamlDoc struct {
	line int // first line of the document in the file
	data []byte
}

func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	lines := bytes.SplitAfter(data, []byte("\n"))
	cur := yamlDoc{line: 1}
	for i, l := range lines {
		if t := bytes.TrimRight(l, " \t\r\n"); string(t) == "---" {
			docs = append(docs, cur)
			cur = yamlDoc{line: i + 2}
			continue
		}
		cur.data = append(cur.data, l...)
	}
	return append(docs, cur)
}

func stripYAMLComments(data []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(data, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] == '#' {
			continue
		}
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// position turns a byte offset of data into a 1-based line and column.
func position(data []byte, off int64) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// where formats "name:line:col" when the position in the original JSON is
// known (orig != nil, off >= 0), else just the name.
func where(name string, orig []byte, off int64) string {
	if orig == nil || off < 0 {
		return name
	}
	l, c := position(orig, off)
	return fmt.Sprintf("%s:%d:%d", name, l, c)
}

type header struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	ID         string            `json:"id"`
	Items      []json.RawMessage `json:"items"`
}

// decodeJSONDoc decodes one JSON document. orig is the file's own bytes when
// they are JSON (so errors carry line and column), nil for YAML.
func decodeJSONDoc(name string, data, orig []byte) ([]decoded, error) {
	var raw interface{}
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: json syntax error: %s", where(name, orig, api.JSONErrorAt(data, err)), se.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, ok := raw.(map[string]interface{}); !ok {
		return nil, fmt.Errorf("%s: want a JSON object with a kind, got %s", name, jsonKind(raw))
	}
	var h header
	_ = json.Unmarshal(data, &h) // shapes checked below by the strict decode
	if h.Kind == "" {
		return nil, fmt.Errorf("%s: no kind (want Pod, ReplicationController, Service, ...)", name)
	}
	switch h.APIVersion {
	case "", "v1beta1", "v1beta2":
	default:
		return nil, fmt.Errorf("%s: apiVersion %q is not supported (want v1beta1 or v1beta2)", name, h.APIVersion)
	}
	if strings.HasSuffix(h.Kind, "List") {
		var out []decoded
		for i, item := range h.Items {
			objs, err := decodeJSONDoc(fmt.Sprintf("%s: items[%d]", name, i), item, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	res, ok := resourceForKind(h.Kind)
	if !ok {
		return nil, fmt.Errorf("%s: unknown kind %q (want Pod, ReplicationController, Service, Minion, Event or Endpoints)", name, h.Kind)
	}
	obj := api.New(res)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fieldError(name, data, orig, h.Kind, err)
	}
	obj.Meta().Kind = res.Kind()
	return []decoded{{source: name, res: res, obj: obj}}, nil
}

var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

func fieldError(name string, data, orig []byte, kind string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: %s field %s: want %s, got %s", where(name, orig, api.JSONErrorAt(data, err)), kind, api.JSONFieldPath(te.Field), te.Type, te.Value)
	}
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		off := int64(bytes.Index(data, []byte(`"`+m[1]+`"`)))
		if off < 0 {
			return fmt.Errorf("%s: %s has no field %q", name, kind, m[1])
		}
		return fmt.Errorf("%s: %s has no field %q", where(name, orig, off), kind, m[1])
	}
	return fmt.Errorf("%s: %s: %w", name, kind, err)
}

func jsonKind(v interface{}) string {
	switch v.(type) {
	case []interface{}:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

// resourceForKind matches a kind without regard to case (the blog's files
// say "Replicationcontroller").
func resourceForKind(kind string) (api.Resource, bool) {
	for _, r := range api.AllResources {
		if strings.EqualFold(r.Kind(), kind) {
			return r, true
		}
	}
	return "", false
}
