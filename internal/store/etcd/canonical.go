package etcd

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"kubelite/internal/api"
)

// The written object, without decoding it again: after a create or update
// the shared watch receives the same bytes the writer just encoded, and
// decoding them was 8% of a scheduling run's CPU. So the writer hands the
// shared watch a copy of its object for that revision (seed, broadcast.go),
// made here: canonical returns exactly what encoding obj with encoding/json
// and decoding the bytes into a new object gives (reflect.DeepEqual to a
// decode), at the cost of a copy. It applies encoding/json's rules field by
// field: unexported and `json:"-"` fields are left zero, omitempty and
// omitzero fields that would be left out stay zero, times are what their
// RFC 3339 text parses back to (no monotonic reading, UTC or the zone the
// offset names), an IntOrString comes back with the kind its JSON gives.
// Strings are interned as decodeShared interns a decoded object. Where it
// cannot be sure (a string that is not valid UTF-8, which the encoder
// replaces; a type it does not know how to mirror: interfaces, ",string"
// fields, embedded pointers, text marshalers) it reports false and the
// watch decodes the bytes as before. canonical_test.go compares it with a
// decode over every stored type, filled at random.

// canonFunc sets dst (a zero, settable value) to the canonical copy of src;
// false when it cannot.
type canonFunc func(in *interner, dst, src reflect.Value) bool

var (
	canonMu  sync.Mutex
	canons   sync.Map // reflect.Type -> canonFunc (nil: unsupported)
	building map[reflect.Type]*canonFunc

	marshalerType     = reflect.TypeFor[json.Marshaler]()
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	timeType          = reflect.TypeFor[time.Time]()
	intOrStringType   = reflect.TypeFor[api.IntOrString]()
	podInfoType       = reflect.TypeFor[api.PodInfo]()
)

// canonical returns the canonical copy of obj (see above) with
// resourceVersion rv, its strings interned by in; false when it cannot.
func canonical(in *interner, obj api.Object, rv uint64) (api.Object, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	f := canonFor(v.Type().Elem())
	if f == nil {
		return nil, false
	}
	out := reflect.New(v.Type().Elem())
	if !f(in, out.Elem(), v.Elem()) {
		return nil, false
	}
	o, ok := out.Interface().(api.Object)
	if !ok {
		return nil, false
	}
	o.Meta().ResourceVersion = rv
	return o, true
}

// canonFor returns t's canonFunc, nil when t is not supported.
func canonFor(t reflect.Type) canonFunc {
	if f, ok := canons.Load(t); ok {
		return f.(canonFunc)
	}
	canonMu.Lock()
	defer canonMu.Unlock()
	if f, ok := canons.Load(t); ok {
		return f.(canonFunc)
	}
	building = map[reflect.Type]*canonFunc{}
	f := canonLocked(t)
	for bt, p := range building {
		canons.Store(bt, *p)
	}
	building = nil
	return f
}

func canonLocked(t reflect.Type) canonFunc {
	if f, ok := canons.Load(t); ok {
		return f.(canonFunc)
	}
	if p, ok := building[t]; ok {
		if *p != nil {
			return *p
		}
		// Recursive type: an indirection to the func being compiled (nil
		// if it turns out unsupported: its users are then unsupported too).
		return func(in *interner, dst, src reflect.Value) bool { return *p != nil && (*p)(in, dst, src) }
	}
	p := new(canonFunc)
	building[t] = p
	*p = compileCanon(t)
	return *p
}

func compileCanon(t reflect.Type) canonFunc {
	switch {
	case t.Kind() == reflect.Pointer:
		// null, or the element's JSON (its methods, if any, included).
		elem := canonLocked(t.Elem())
		if elem == nil {
			return nil
		}
		return func(in *interner, dst, src reflect.Value) bool {
			if src.IsNil() {
				return true
			}
			p := reflect.New(t.Elem())
			dst.Set(p)
			return elem(in, p.Elem(), src.Elem())
		}
	case t == timeType:
		return canonTime
	case t == intOrStringType:
		return canonIntOrString
	case t == podInfoType:
		return compileCanonPodInfo()
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) ||
		t.Implements(textUnmarshalType) || reflect.PointerTo(t).Implements(textUnmarshalType):
		return nil
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) ||
		t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		if !t.Implements(marshalerType) || !reflect.PointerTo(t).Implements(unmarshalerType) {
			return nil
		}
		return canonRoundTrip(t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return func(_ *interner, dst, src reflect.Value) bool { dst.Set(src); return true }
	case reflect.String:
		return func(in *interner, dst, src reflect.Value) bool {
			s := src.String()
			if !utf8.ValidString(s) {
				return false
			}
			dst.SetString(in.str(s))
			return true
		}
	case reflect.Slice:
		if e := reflect.PointerTo(t.Elem()); t.Elem().Kind() == reflect.Uint8 && !e.Implements(marshalerType) && !e.Implements(textMarshalerType) {
			// Base64 in JSON; decoded into a new slice (empty, not nil, for "").
			return func(_ *interner, dst, src reflect.Value) bool {
				if src.IsNil() {
					return true
				}
				out := reflect.MakeSlice(t, src.Len(), src.Len())
				reflect.Copy(out, src)
				dst.Set(out)
				return true
			}
		}
		elem := canonLocked(t.Elem())
		if elem == nil {
			return nil
		}
		return func(in *interner, dst, src reflect.Value) bool {
			if src.IsNil() {
				return true
			}
			out := reflect.MakeSlice(t, src.Len(), src.Len())
			for i := 0; i < src.Len(); i++ {
				if !elem(in, out.Index(i), src.Index(i)) {
					return false
				}
			}
			dst.Set(out)
			return true
		}
	case reflect.Array:
		elem := canonLocked(t.Elem())
		if elem == nil {
			return nil
		}
		return func(in *interner, dst, src reflect.Value) bool {
			for i := 0; i < src.Len(); i++ {
				if !elem(in, dst.Index(i), src.Index(i)) {
					return false
				}
			}
			return true
		}
	case reflect.Map:
		return compileCanonMap(t)
	case reflect.Struct:
		return compileCanonStruct(t)
	}
	return nil // interface, chan, func, complex, unsafe pointer
}

func compileCanonMap(t reflect.Type) canonFunc {
	if t.Key().Kind() != reflect.String {
		return nil // numeric keys would do, but no API type has them
	}
	if t == reflect.TypeFor[map[string]string]() {
		return func(in *interner, dst, src reflect.Value) bool {
			if src.IsNil() {
				return true
			}
			m := src.Interface().(map[string]string)
			for k, v := range m {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					return false
				}
			}
			dst.Set(reflect.ValueOf(in.strMap(m)))
			return true
		}
	}
	elem := canonLocked(t.Elem())
	if elem == nil {
		return nil
	}
	return func(in *interner, dst, src reflect.Value) bool {
		if src.IsNil() {
			return true
		}
		out := reflect.MakeMapWithSize(t, src.Len())
		key := reflect.New(t.Key()).Elem()
		it := src.MapRange()
		for it.Next() {
			k := it.Key().String()
			if !utf8.ValidString(k) {
				return false
			}
			val := reflect.New(t.Elem()).Elem()
			if !elem(in, val, it.Value()) {
				return false
			}
			key.SetString(in.str(k))
			out.SetMapIndex(key, val)
		}
		dst.Set(out)
		return true
	}
}

type canonField struct {
	index     int
	omitEmpty bool
	omitZero  func(v reflect.Value) bool // nil: not omitzero
	canon     canonFunc
}

func compileCanonStruct(t reflect.Type) canonFunc {
	var fields []canonField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if sf.Anonymous && (sf.Type.Kind() != reflect.Struct || !sf.IsExported()) {
			return nil // an embedded pointer, or unexported type: not mirrored
		}
		if !sf.IsExported() {
			continue
		}
		_, opts, _ := strings.Cut(tag, ",")
		f := canonField{index: i}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = zeroTest(sf.Type)
			case "string":
				return nil
			}
		}
		f.canon = canonLocked(sf.Type)
		if f.canon == nil {
			return nil
		}
		fields = append(fields, f)
	}
	return func(in *interner, dst, src reflect.Value) bool {
		for _, f := range fields {
			sv := src.Field(f.index)
			if f.omitEmpty && isEmptyJSON(sv) {
				continue
			}
			if f.omitZero != nil && f.omitZero(sv) {
				continue
			}
			if !f.canon(in, dst.Field(f.index), sv) {
				return false
			}
		}
		return true
	}
}

// zeroTest is encoding/json's omitzero test for a field of type t.
func zeroTest(t reflect.Type) func(v reflect.Value) bool {
	switch {
	case t == timeType:
		return func(v reflect.Value) bool {
			if v.CanAddr() {
				return v.Addr().Interface().(*time.Time).IsZero()
			}
			return v.Interface().(time.Time).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Kind() == reflect.Interface:
		return func(v reflect.Value) bool { return true } // unsupported anyway
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(interface{ IsZero() bool }).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(t).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return func(v reflect.Value) bool { return v.IsZero() }
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0 // -0 too, unlike reflect's IsZero
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// canonTime: a time comes back as its RFC 3339 text parses: no monotonic
// reading, and the location the offset gives.
func canonTime(_ *interner, dst, src reflect.Value) bool {
	var t time.Time
	if src.CanAddr() {
		t = *src.Addr().Interface().(*time.Time)
	} else {
		t = src.Interface().(time.Time)
	}
	out := dst.Addr().Interface().(*time.Time)
	if t.Location() == time.UTC {
		// "Z": parsed back in UTC, the same instant without its monotonic
		// reading (canonical_test checks it against a decode).
		*out = t.Round(0)
		return true
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return false
	}
	return out.UnmarshalJSON(b) == nil
}

// canonIntOrString: IntOrString's MarshalJSON writes StrVal for
// IntstrString and IntVal for any other kind; its UnmarshalJSON sets the
// kind from the JSON and the one value.
func canonIntOrString(in *interner, dst, src reflect.Value) bool {
	var v api.IntOrString
	if src.CanAddr() {
		v = *src.Addr().Interface().(*api.IntOrString)
	} else {
		v = src.Interface().(api.IntOrString)
	}
	out := dst.Addr().Interface().(*api.IntOrString)
	if v.Kind != api.IntstrString {
		*out = api.IntOrString{Kind: api.IntstrInt, IntVal: v.IntVal}
		return true
	}
	if !utf8.ValidString(v.StrVal) {
		return false
	}
	*out = api.IntOrString{Kind: api.IntstrString, StrVal: in.str(v.StrVal)}
	return true
}

// compileCanonPodInfo: a PodInfo is written as the object of its entries
// in name order and read back as them in that order (one entry a name, as
// Set keeps them), so its copy is a copy of each entry, the name interned
// as a map key would be. One out of order or with a name twice (built by
// hand: MarshalJSON sorts and drops all but the last of a name) is run
// through its JSON methods instead.
func compileCanonPodInfo() canonFunc {
	status := canonLocked(reflect.TypeFor[api.ContainerStatus]())
	if status == nil {
		return nil
	}
	roundTrip := canonRoundTrip(podInfoType)
	return func(in *interner, dst, src reflect.Value) bool {
		var info api.PodInfo
		if src.CanAddr() {
			info = *src.Addr().Interface().(*api.PodInfo) // no allocation, unlike Interface()
		} else {
			info = src.Interface().(api.PodInfo)
		}
		if info == nil {
			return true
		}
		for i := 1; i < len(info); i++ {
			if info[i-1].Name >= info[i].Name {
				return roundTrip(in, dst, src)
			}
		}
		out := make(api.PodInfo, len(info))
		for i := range info {
			if !utf8.ValidString(info[i].Name) {
				return false
			}
			out[i].Name = in.str(info[i].Name)
			if !status(in, reflect.ValueOf(&out[i].ContainerStatus).Elem(), reflect.ValueOf(&info[i].ContainerStatus).Elem()) {
				return false
			}
		}
		*dst.Addr().Interface().(*api.PodInfo) = out
		return true
	}
}

// canonRoundTrip mirrors another type with its own JSON methods by running
// them (no API type but PodInfo has them, and only a PodInfo built out of
// order comes here).
func canonRoundTrip(t reflect.Type) canonFunc {
	return func(_ *interner, dst, src reflect.Value) bool {
		b, err := json.Marshal(src.Interface())
		if err != nil {
			return false
		}
		p := reflect.New(t)
		if err := json.Unmarshal(b, p.Interface()); err != nil {
			return false
		}
		dst.Set(p.Elem())
		return true
	}
}
