package etcd

import (
	"encoding/binary"
	"reflect"
	"slices"
	"sync"

	"kubelite/internal/api"
)

// Interning: the decoded cache holds every pod of a master, and pods made
// from one template repeat most of their strings (image, container name,
// env names and values, label keys and values, namespace, host), each a
// separate allocation when decoded from JSON. Before an object enters the
// cache, its short strings are replaced by one shared copy from a bounded
// table, so that 30,000 pods of one template hold those strings once.
// Strings are immutable and cached objects read only, so sharing them
// changes nothing a reader can see. Small string maps (labels, selectors)
// are shared whole the same way: equal maps of many pods are one map, where
// each would otherwise hold a group of eight slots of its own.

const (
	// internMaxLen: longer strings are left alone (rarely repeated, and a
	// table entry should stay small).
	internMaxLen = 128
	// internMaxEntries bounds the table; when full it starts over (strings
	// already shared stay shared; unique strings such as ids and uids are
	// what fills it).
	internMaxEntries = 1 << 15
	// internMaxMap: larger maps are not shared whole (only their strings).
	internMaxMap = 8
)

type interner struct {
	mu   sync.Mutex
	m    map[string]string
	maps map[string]map[string]string // by mapKey
}

func newInterner() *interner {
	return &interner{m: make(map[string]string, 1024), maps: make(map[string]map[string]string, 64)}
}

// str returns the table's copy of s, adding s if it has none.
func (in *interner) str(s string) string {
	if s == "" || len(s) > internMaxLen {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.strLocked(s)
}

// strMap returns a map equal to m whose strings are the table's copies:
// the table's map for m's contents when m has 1 to internMaxMap entries
// (added if it has none), else a new map. m is left as it is.
func (in *interner) strMap(m map[string]string) map[string]string {
	if len(m) == 0 || len(m) > internMaxMap {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[in.str(k)] = in.str(v)
		}
		return out
	}
	var buf [256]byte
	key := mapKey(buf[:0], m)
	in.mu.Lock()
	defer in.mu.Unlock()
	if c, ok := in.maps[string(key)]; ok {
		return c
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[in.strLocked(k)] = in.strLocked(v)
	}
	if len(in.maps) >= internMaxEntries {
		in.maps = make(map[string]map[string]string, 64)
	}
	in.maps[string(key)] = out
	return out
}

// mapKey appends to b a rendering of m (at most internMaxMap entries)
// that equal maps, and only they, share: each key and value in key order,
// each after its length (pure).
func mapKey(b []byte, m map[string]string) []byte {
	var arr [internMaxMap]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(m[k])))
		b = append(b, m[k]...)
	}
	return b
}

func (in *interner) strLocked(s string) string {
	if s == "" || len(s) > internMaxLen {
		return s
	}
	if c, ok := in.m[s]; ok {
		return c
	}
	if len(in.m) >= internMaxEntries {
		in.m = make(map[string]string, 1024)
	}
	in.m[s] = s
	return s
}

// object replaces the strings of obj (a freshly decoded object no one else
// holds yet) with their shared copies, in place.
func (in *interner) object(obj api.Object) {
	in.walk(reflect.ValueOf(obj))
}

func (in *interner) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			in.walk(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				in.walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			in.walk(v.Index(i))
		}
	case reflect.Map:
		if m, ok := v.Interface().(map[string]string); ok {
			if v.CanSet() && len(m) > 0 {
				v.Set(reflect.ValueOf(in.strMap(m)))
				return
			}
			// Assigning an equal key replaces the stored key too (Go maps
			// update string keys), so both become the shared copies.
			for k, e := range m {
				m[in.str(k)] = in.str(e)
			}
			return
		}
		t := v.Type()
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return // no such maps in the API types but string to string
		}
		it := v.MapRange() // named string types, as above
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		for it.Next() {
			k.SetString(in.str(it.Key().String()))
			e.SetString(in.str(it.Value().String()))
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(in.str(v.String()))
		}
	}
}
