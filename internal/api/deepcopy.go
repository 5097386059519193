package api

import (
	"maps"
	"reflect"
	"sync"
	"time"
)

// DeepCopy returns a deep copy of obj without a JSON round trip (Copy
// marshals and unmarshals; DeepCopy walks the value by reflection, with a
// copier compiled once per type, and is several times faster, which matters
// for caches handing out thousands of objects). The result shares no memory
// with obj. time.Time values are copied as values.
//
// The copy is made in place: one allocation for the object, then one for
// each pointer, slice, map and interface value it holds; a struct held by
// value is written where it lies in its parent, never built apart and
// copied in.
func DeepCopy[T Object](obj T) T {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj
	}
	out := reflect.New(v.Type().Elem())
	out.Elem().Set(v.Elem())
	if fix := fixerFor(v.Type().Elem()); fix != nil {
		fix(out.Elem(), v.Elem())
	}
	return out.Interface().(T)
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	stringMapType = reflect.TypeFor[map[string]string]()
)

// fixFunc makes dst, which holds an assigned (shallow) copy of src, a deep
// copy of it: it replaces every pointer, slice, map and interface value in
// dst, at any depth, by a copy of what it refers to. dst is settable. A
// type holding none of them has no fixFunc (nil): assignment copies it
// whole.
type fixFunc func(dst, src reflect.Value)

var fixers sync.Map // reflect.Type -> fixFunc (nil: assignment suffices)

func fixerFor(t reflect.Type) fixFunc {
	if f, ok := fixers.Load(t); ok {
		return f.(fixFunc)
	}
	// Compile under a lock and publish the fixers only once all are
	// complete: a fixer another goroutine loaded half-built (a recursive
	// type's indirection before its target exists) would be nil.
	compileMu.Lock()
	defer compileMu.Unlock()
	if f, ok := fixers.Load(t); ok {
		return f.(fixFunc)
	}
	compiling = map[reflect.Type]*fixFunc{}
	f := fixerLocked(t)
	for ct, p := range compiling {
		fixers.Store(ct, *p)
	}
	compiling = nil
	return f
}

var (
	compileMu sync.Mutex
	compiling map[reflect.Type]*fixFunc // fixers being compiled, under compileMu
)

// fixerLocked returns t's fixer; compileMu is held.
func fixerLocked(t reflect.Type) fixFunc {
	if f, ok := fixers.Load(t); ok {
		return f.(fixFunc)
	}
	if !hasRefs(t, map[reflect.Type]bool{}) {
		// Complete at once: published now, so that an interface holding
		// such a value does not take the lock at every copy.
		fixers.Store(t, fixFunc(nil))
		return nil
	}
	if p, ok := compiling[t]; ok {
		if *p != nil {
			return *p
		}
		// Recursive type (it has references: it refers to itself): an
		// indirection to the fixer being compiled.
		return func(dst, src reflect.Value) { (*p)(dst, src) }
	}
	p := new(fixFunc)
	compiling[t] = p
	*p = compile(t)
	return *p
}

// compile builds the fixer of t, a type with references.
func compile(t reflect.Type) fixFunc {
	switch t.Kind() {
	case reflect.Pointer:
		elemT := t.Elem()
		elem := fixerLocked(elemT)
		return func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			out := reflect.New(elemT)
			out.Elem().Set(src.Elem())
			if elem != nil {
				elem(out.Elem(), src.Elem())
			}
			dst.Set(out)
		}
	case reflect.Slice:
		elem := fixerLocked(t.Elem())
		return func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			n := src.Len()
			if n == 0 {
				// Empty but not nil, with no room: an append to the copy
				// cannot write into the original's array.
				dst.Set(src.Slice3(0, 0, 0))
				return
			}
			// Grown in place: MakeSlice would allocate a slice header too.
			dst.SetZero()
			dst.Grow(n)
			dst.SetLen(n)
			reflect.Copy(dst, src)
			if elem != nil {
				for i := 0; i < n; i++ {
					elem(dst.Index(i), src.Index(i))
				}
			}
		}
	case reflect.Map:
		if t == stringMapType {
			// Labels, annotations, selectors: the common map, cloned whole.
			return func(dst, src reflect.Value) {
				if !src.IsNil() {
					dst.Set(reflect.ValueOf(maps.Clone(src.Interface().(map[string]string))))
				}
			}
		}
		keyT, elemT := t.Key(), t.Elem()
		elem := fixerLocked(elemT)
		return func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			out := reflect.MakeMapWithSize(t, src.Len())
			// Settable values reused for every entry (SetMapIndex copies
			// them): the iterator's Key and Value would allocate each.
			k, v := reflect.New(keyT).Elem(), reflect.New(elemT).Elem()
			var fixed reflect.Value
			if elem != nil {
				fixed = reflect.New(elemT).Elem()
			}
			for it := src.MapRange(); it.Next(); {
				k.SetIterKey(it)
				v.SetIterValue(it)
				if elem == nil {
					out.SetMapIndex(k, v)
					continue
				}
				fixed.Set(v)
				elem(fixed, v)
				out.SetMapIndex(k, fixed)
			}
			dst.Set(out)
		}
	case reflect.Array:
		elem := fixerLocked(t.Elem())
		return func(dst, src reflect.Value) {
			for i := 0; i < src.Len(); i++ {
				elem(dst.Index(i), src.Index(i))
			}
		}
	case reflect.Struct:
		type fieldFix struct {
			index int
			fix   fixFunc
		}
		var fields []fieldFix
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue // shared, as assignment shares it
			}
			if fix := fixerLocked(f.Type); fix != nil {
				fields = append(fields, fieldFix{i, fix})
			}
		}
		return func(dst, src reflect.Value) {
			for _, f := range fields {
				f.fix(dst.Field(f.index), src.Field(f.index))
			}
		}
	case reflect.Interface:
		return func(dst, src reflect.Value) {
			if src.IsNil() {
				return
			}
			inner := src.Elem()
			out := reflect.New(inner.Type()).Elem()
			out.Set(inner)
			if fix := fixerFor(inner.Type()); fix != nil {
				fix(out, inner)
			}
			dst.Set(out)
		}
	}
	return nil // chan, func: shared, as assignment would
}

// hasRefs reports whether values of t can share memory when assigned
// (pointers, slices, maps, interfaces, or structs and arrays holding them).
// time.Time counts as a plain value.
func hasRefs(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	case reflect.Array:
		return hasRefs(t.Elem(), seen)
	case reflect.Struct:
		if t == timeType {
			return false
		}
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && hasRefs(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
