package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// PodInfo is the status of each container of a pod by container name (and
// "net" for the infra container): a slice sorted by name, one entry a name,
// written and read as the JSON object v1beta1 has ({"name": status, ...},
// keys sorted, byte for byte what encoding/json writes for a
// map[string]ContainerStatus, which PodInfo was).
//
// Why not the map: a master holds every pod decoded, nearly all with two
// entries ("net" and one app), and a Go map of up to eight entries is a
// group of eight 96-byte slots plus its header, about 944 bytes a pod and a
// fifth of the master's live heap; two slice entries are 192 bytes.
//
// Get, Status and Set keep to that order. A PodInfo built by hand out of
// order, or with a name twice, still reads and writes as the map it stands
// for: Get and Status look at every entry (a pod has a few) and take the
// last of a name, MarshalJSON sorts a copy and keeps the last of a name.
type PodInfo []NamedContainerStatus

// NamedContainerStatus is one entry of a PodInfo: the container's name and
// its status.
type NamedContainerStatus struct {
	Name string
	ContainerStatus
}

// Get returns the status of container name, false when there is none.
func (p PodInfo) Get(name string) (ContainerStatus, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].Name == name {
			return p[i].ContainerStatus, true
		}
	}
	return ContainerStatus{}, false
}

// Status returns the status of container name, the zero ContainerStatus
// when there is none (what indexing the map gave).
func (p PodInfo) Status(name string) ContainerStatus {
	st, _ := p.Get(name)
	return st
}

// Set makes st the status of container name: it replaces the entry of that
// name, or inserts one where the name sorts.
func (p *PodInfo) Set(name string, st ContainerStatus) {
	s := *p
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].Name == name {
			s[i].ContainerStatus = st
			return
		}
	}
	i := len(s)
	for i > 0 && s[i-1].Name > name {
		i--
	}
	*p = slices.Insert(s, i, NamedContainerStatus{Name: name, ContainerStatus: st})
}

// sortedUnique reports whether p's names strictly increase: the order
// Set keeps and the JSON has.
func (p PodInfo) sortedUnique() bool {
	for i := 1; i < len(p); i++ {
		if p[i-1].Name >= p[i].Name {
			return false
		}
	}
	return true
}

// normalized returns p sorted by name with one entry a name, the last of
// each: p itself when it already is, else a copy.
func (p PodInfo) normalized() PodInfo {
	if p.sortedUnique() {
		return p
	}
	out := slices.Clone(p)
	slices.SortStableFunc(out, func(a, b NamedContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	n := 0
	for i := range out {
		if n > 0 && out[n-1].Name == out[i].Name {
			out[n-1] = out[i]
			continue
		}
		out[n] = out[i]
		n++
	}
	return out[:n]
}

// MarshalJSON writes the object a map[string]ContainerStatus would be:
// null for nil, keys sorted. It escapes no HTML itself: encoding/json
// escapes a method's result as the calling encoder's options say, as it
// would have escaped the map (json.Marshal does, an Encoder with
// SetEscapeHTML(false) does not).
func (p PodInfo) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("null"), nil
	}
	p = p.normalized()
	var buf bytes.Buffer
	buf.Grow(2 + 256*len(p))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i := range p {
		if i > 0 {
			buf.WriteByte(',')
		}
		// Encode ends each value with a newline: dropped. A plain name
		// (nearly all) is written as it is, without boxing it for Encode.
		if name := p[i].Name; plainASCII(name) {
			buf.WriteByte('"')
			buf.WriteString(name)
			buf.WriteByte('"')
		} else {
			if err := enc.Encode(name); err != nil {
				return nil, err
			}
			buf.Truncate(buf.Len() - 1)
		}
		buf.WriteByte(':')
		if err := enc.Encode(&p[i].ContainerStatus); err != nil {
			return nil, fmt.Errorf("status of container %q: %w", p[i].Name, err)
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

var podInfoType = reflect.TypeFor[PodInfo]()

// UnmarshalJSON reads a JSON object of statuses as decoding it into a
// map[string]ContainerStatus would: keys in any order, a key given twice
// keeps its last value, null is nil, {} is empty, each value decoded by
// encoding/json into a zero ContainerStatus. Decoding into a PodInfo that
// has entries adds to them, as into a map that has some.
//
// A type error names the container (Field "web.restartCount"; the classic
// encoding/json puts the path of the PodInfo before it, the v2 one of
// GOEXPERIMENT=jsonv2 returns a method's error as it is) and has Offset
// -1: encoding/json hands the method the object alone, so where it sits in
// the document is unknown (JSONErrorAt gives no position for it). As with
// the map, a type error in one value does not stop the others being
// decoded; unlike it, the decode of the rest of the document stops, so an
// earlier type error elsewhere is not the one reported. An unknown key in
// a status is not an error even for a Decoder with DisallowUnknownFields
// (the method cannot know): UnknownFields and OnlyKnownFields find it.
func (p *PodInfo) UnmarshalJSON(data []byte) error {
	s := infoScanner{data: data}
	s.space()
	if s.i >= len(data) {
		return syntaxErrorOf(data)
	}
	if c := data[s.i]; c != '{' {
		if !json.Valid(data) {
			return syntaxErrorOf(data)
		}
		if c == 'n' {
			*p = nil
			return nil
		}
		// What encoding/json says of a non-object for a map, the type
		// named PodInfo as before.
		return &json.UnmarshalTypeError{Value: jsonValueKind(c), Type: podInfoType, Offset: -1}
	}
	// Split the object into raw keys and values first, so that the result
	// is allocated once at its size; encoding/json checks each value.
	type entry struct{ key, val []byte }
	var arr [8]entry
	entries := arr[:0]
	s.i++ // {
	s.space()
	if s.i < len(data) && data[s.i] == '}' {
		s.i++
	} else {
		for {
			s.space()
			ks := s.i
			if !s.str() {
				return syntaxErrorOf(data)
			}
			key := data[ks:s.i]
			s.space()
			if s.i >= len(data) || data[s.i] != ':' {
				return syntaxErrorOf(data)
			}
			s.i++
			s.space()
			vs := s.i
			if !s.value() {
				return syntaxErrorOf(data)
			}
			entries = append(entries, entry{key, data[vs:s.i]})
			s.space()
			if s.i >= len(data) {
				return syntaxErrorOf(data)
			}
			if data[s.i] == '}' {
				s.i++
				break
			}
			if data[s.i] != ',' {
				return syntaxErrorOf(data)
			}
			s.i++
		}
	}
	s.space()
	if s.i != len(data) {
		return syntaxErrorOf(data)
	}

	out := make(PodInfo, len(entries))
	var firstErr error
	for i, e := range entries {
		name, err := unquoteKey(e.key)
		if err != nil {
			return err
		}
		out[i].Name = name
		if err := json.Unmarshal(e.val, &out[i].ContainerStatus); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return err // a syntax error, or a time that does not parse: as the map's decode
			}
			if firstErr == nil {
				firstErr = &json.UnmarshalTypeError{Value: te.Value, Type: te.Type, Offset: -1, Struct: "PodInfo", Field: joinField(name, te.Field)}
			}
		}
	}
	out = out.normalized()
	if *p == nil {
		*p = out
	} else {
		for _, e := range out {
			p.Set(e.Name, e.ContainerStatus)
		}
	}
	return firstErr
}

func joinField(name, field string) string {
	if field == "" {
		return name
	}
	return name + "." + field
}

// plainASCII reports whether s is the same inside JSON quotes, escaped or
// not (no quote, backslash, control character or non-ASCII byte; the HTML
// characters < > & are left to the calling encoder to escape).
func plainASCII[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// unquoteKey returns the string a JSON key (quotes included) holds: as it
// is when it is plain ASCII, else unquoted by encoding/json (escapes, and
// bytes that are not UTF-8, which it replaces as for a map's key).
func unquoteKey(q []byte) (string, error) {
	if k := q[1 : len(q)-1]; plainASCII(k) {
		return string(k), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", err
	}
	return s, nil
}

// syntaxErrorOf returns encoding/json's error for data that infoScanner
// found malformed (only a direct caller passes such data: encoding/json
// checks a document before it hands a method part of it).
func syntaxErrorOf(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return errors.New("api.PodInfo: malformed JSON object") // not reached: the scanner is no stricter than encoding/json
}

// jsonValueKind is what encoding/json's type errors call a value starting
// with c.
func jsonValueKind(c byte) string {
	switch c {
	case '"':
		return "string"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// infoScanner finds the extent of JSON values without checking their
// insides (the strings, numbers and nesting of a value are checked when
// encoding/json decodes it). It never reads past data.
type infoScanner struct {
	data []byte
	i    int
}

// space skips blanks.
func (s *infoScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str skips a string, quotes included.
func (s *infoScanner) str() bool {
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return false
	}
	for j := s.i + 1; j < len(s.data); j++ {
		switch s.data[j] {
		case '\\':
			j++ // the escaped byte
		case '"':
			s.i = j + 1
			return true
		}
	}
	return false
}

// value skips one value: a string, an object or array (to its matching
// bracket, strings skipped whole), or a literal.
func (s *infoScanner) value() bool {
	if s.i >= len(s.data) {
		return false
	}
	switch s.data[s.i] {
	case '"':
		return s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.data) {
			switch s.data[s.i] {
			case '"':
				if !s.str() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return true
			}
		}
		return false
	}
	start := s.i
	for s.i < len(s.data) && !strings.ContainsRune(" \t\r\n,:{}[]\"", rune(s.data[s.i])) {
		s.i++
	}
	return s.i > start
}
