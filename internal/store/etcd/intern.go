package etcd

import (
	"reflect"
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
// changes nothing a reader can see.

const (
	// internMaxLen: longer strings are left alone (rarely repeated, and a
	// table entry should stay small).
	internMaxLen = 128
	// internMaxEntries bounds the table; when full it starts over (strings
	// already shared stay shared; unique strings such as ids and uids are
	// what fills it).
	internMaxEntries = 1 << 15
)

type interner struct {
	mu sync.Mutex
	m  map[string]string
}

func newInterner() *interner { return &interner{m: make(map[string]string, 1024)} }

// str returns the table's copy of s, adding s if it has none.
func (in *interner) str(s string) string {
	if s == "" || len(s) > internMaxLen {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
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
