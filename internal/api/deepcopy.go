package api

import (
	"reflect"
	"sync"
	"time"
)

// DeepCopy returns a deep copy of obj without a JSON round trip (Copy
// marshals and unmarshals; DeepCopy walks the value by reflection, with a
// copier compiled once per type, and is several times faster, which matters
// for caches handing out thousands of objects). The result shares no memory
// with obj. time.Time values are copied as values.
func DeepCopy[T Object](obj T) T {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj
	}
	return copierFor(v.Type())(v).Interface().(T)
}

var timeType = reflect.TypeFor[time.Time]()

// copyFunc returns a deep copy of v (of the type it was compiled for).
type copyFunc func(v reflect.Value) reflect.Value

var copiers sync.Map // reflect.Type -> copyFunc

func identity(v reflect.Value) reflect.Value { return v }

func copierFor(t reflect.Type) copyFunc {
	if f, ok := copiers.Load(t); ok {
		return f.(copyFunc)
	}
	// Compile under a lock and publish the copiers only once all are
	// complete: a copier another goroutine loaded half-built (a recursive
	// type's indirection before its target exists) would be nil.
	compileMu.Lock()
	defer compileMu.Unlock()
	if f, ok := copiers.Load(t); ok {
		return f.(copyFunc)
	}
	compiling = map[reflect.Type]*copyFunc{}
	f := copierLocked(t)
	for ct, p := range compiling {
		copiers.Store(ct, *p)
	}
	compiling = nil
	return f
}

var (
	compileMu sync.Mutex
	compiling map[reflect.Type]*copyFunc // copiers being compiled, under compileMu
)

// copierLocked returns t's copier; compileMu is held.
func copierLocked(t reflect.Type) copyFunc {
	if f, ok := copiers.Load(t); ok {
		return f.(copyFunc)
	}
	if p, ok := compiling[t]; ok {
		if *p != nil {
			return *p
		}
		// Recursive type: an indirection to the copier being compiled.
		return func(v reflect.Value) reflect.Value { return (*p)(v) }
	}
	p := new(copyFunc)
	compiling[t] = p
	*p = compile(t)
	return *p
}

func compile(t reflect.Type) copyFunc {
	if !hasRefs(t, map[reflect.Type]bool{}) {
		return identity
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := copierLocked(t.Elem())
		return func(v reflect.Value) reflect.Value {
			if v.IsNil() {
				return v
			}
			out := reflect.New(t.Elem())
			out.Elem().Set(elem(v.Elem()))
			return out
		}
	case reflect.Slice:
		elemT := t.Elem()
		if !hasRefs(elemT, map[reflect.Type]bool{}) {
			return func(v reflect.Value) reflect.Value {
				if v.IsNil() {
					return v
				}
				out := reflect.MakeSlice(t, v.Len(), v.Len())
				reflect.Copy(out, v)
				return out
			}
		}
		elem := copierLocked(elemT)
		return func(v reflect.Value) reflect.Value {
			if v.IsNil() {
				return v
			}
			out := reflect.MakeSlice(t, v.Len(), v.Len())
			for i := 0; i < v.Len(); i++ {
				out.Index(i).Set(elem(v.Index(i)))
			}
			return out
		}
	case reflect.Map:
		elem := copierLocked(t.Elem())
		return func(v reflect.Value) reflect.Value {
			if v.IsNil() {
				return v
			}
			out := reflect.MakeMapWithSize(t, v.Len())
			it := v.MapRange()
			for it.Next() {
				out.SetMapIndex(it.Key(), elem(it.Value()))
			}
			return out
		}
	case reflect.Array:
		elem := copierLocked(t.Elem())
		return func(v reflect.Value) reflect.Value {
			out := reflect.New(t).Elem()
			for i := 0; i < v.Len(); i++ {
				out.Index(i).Set(elem(v.Index(i)))
			}
			return out
		}
	case reflect.Struct:
		type fieldCopy struct {
			index int
			copy  copyFunc
		}
		var fields []fieldCopy
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.IsExported() && hasRefs(f.Type, map[reflect.Type]bool{}) {
				fields = append(fields, fieldCopy{i, copierLocked(f.Type)})
			}
		}
		return func(v reflect.Value) reflect.Value {
			out := reflect.New(t).Elem()
			out.Set(v) // every field, unexported ones included
			for _, f := range fields {
				out.Field(f.index).Set(f.copy(v.Field(f.index)))
			}
			return out
		}
	case reflect.Interface:
		return func(v reflect.Value) reflect.Value {
			if v.IsNil() {
				return v
			}
			out := reflect.New(t).Elem()
			out.Set(copierFor(v.Elem().Type())(v.Elem()))
			return out
		}
	}
	return identity // chan, func: shared, as assignment would
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
