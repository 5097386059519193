package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func richPod() *Pod {
	p := goodPod()
	p.Annotations = map[string]string{"a": "b"}
	p.CreationTimestamp = time.Date(2014, 12, 19, 23, 59, 39, 0, time.UTC)
	p.NodeSelector = map[string]string{"disk": "ssd"}
	p.DesiredState.Manifest.RestartPolicy = RestartPolicy{OnFailure: &RestartPolicyOnFailure{}}
	c := &p.DesiredState.Manifest.Containers[0]
	c.Command = []string{"/bin/sh", "-c", "x"}
	c.LivenessProbe = &LivenessProbe{Exec: &ExecAction{Command: []string{"true"}}}
	p.CurrentState.Info = PodInfo{
		{Name: "net", ContainerStatus: ContainerStatus{State: ContainerState{Termination: &ContainerStateTerminated{ExitCode: 1}}}},
		{Name: "web", ContainerStatus: ContainerStatus{State: ContainerState{Running: &ContainerStateRunning{StartedAt: p.CreationTimestamp}}, RestartCount: 2}},
	}
	return p
}

// refs collects the addresses of every pointer, slice and map reachable from v.
func refs(v reflect.Value, out map[uintptr]string, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Elem().Kind() == reflect.Struct && v.Elem().Type().Size() == 0 {
			return // pointers to zero-size values may all be equal
		}
		out[v.Pointer()] = path
		refs(v.Elem(), out, path+".*")
	case reflect.Slice:
		if v.IsNil() || v.Len() == 0 {
			return
		}
		out[v.Pointer()] = path
		for i := 0; i < v.Len(); i++ {
			refs(v.Index(i), out, path+"[]")
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		out[v.Pointer()] = path
		it := v.MapRange()
		for it.Next() {
			refs(it.Value(), out, path+"{}")
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				refs(v.Field(i), out, path+"."+v.Type().Field(i).Name)
			}
		}
	}
}

func checkDeepCopy(t *testing.T, obj Object) {
	t.Helper()
	cp := DeepCopy(obj)
	a, _ := json.Marshal(obj)
	b, _ := json.Marshal(cp)
	if string(a) != string(b) {
		t.Fatalf("copy differs:\n%s\n%s", a, b)
	}
	noneShared(t, obj, cp)
}

// noneShared fails t when cp shares a pointer, slice or map with orig.
func noneShared(t *testing.T, orig, cp any) {
	t.Helper()
	was, copied := map[uintptr]string{}, map[uintptr]string{}
	refs(reflect.ValueOf(orig), was, "")
	refs(reflect.ValueOf(cp), copied, "")
	for p, path := range copied {
		if o, shared := was[p]; shared {
			t.Fatalf("copy shares %s with the original's %s", path, o)
		}
	}
}

func TestDeepCopy(t *testing.T) {
	for _, o := range []Object{richPod(), goodRC(), goodService(), &Minion{TypeMeta: TypeMeta{ID: "m", Labels: map[string]string{"a": "b"}}},
		&Endpoints{Endpoints: []string{"1.2.3.4:80"}}, &Event{InvolvedObject: ObjectReference{Name: "x"}}, &Binding{PodID: "p"}} {
		checkDeepCopy(t, o)
	}
	p := richPod()
	cp := DeepCopy(p)
	cp.Labels["name"] = "changed"
	cp.DesiredState.Manifest.Containers[0].Ports[0].HostPort = 1
	cp.CurrentState.Info.Set("web", ContainerStatus{})
	cp.CurrentState.Info[0].State.Termination.ExitCode = 2
	if p.Labels["name"] != "webserver_pod" || p.DesiredState.Manifest.Containers[0].Ports[0].HostPort != 8080 ||
		p.CurrentState.Info.Status("web").RestartCount != 2 || p.CurrentState.Info.Status("net").State.Termination.ExitCode != 1 {
		t.Fatal("mutating the copy changed the original")
	}
	var nilPod *Pod
	if DeepCopy(nilPod) != nil {
		t.Fatal("nil copy")
	}
}

func BenchmarkDeepCopyPod(b *testing.B) {
	p := richPod()
	for b.Loop() {
		_ = DeepCopy(p)
	}
}

func BenchmarkJSONCopyPod(b *testing.B) {
	p := richPod()
	for b.Loop() {
		_ = Copy(p)
	}
}

// every holds a field of each kind the copier handles.
type every struct {
	Ptr      *int
	Slice    []string
	Empty    []int
	Nil      []int
	Labels   map[string]string
	NilMap   map[string]string
	Nested   map[string][]string
	ByStruct map[string]ContainerStatus
	Array    [2]*int
	Any      any
	AnyNil   any
	Self     *every
	Structs  []Container
	Func     func() // shared, as assignment shares it
	hidden   *int   // unexported: shared
}

// copyAny is DeepCopy for any pointer, through the same fixers.
func copyAny[T any](p *T) *T {
	out := new(T)
	*out = *p
	if fix := fixerFor(reflect.TypeFor[T]()); fix != nil {
		fix(reflect.ValueOf(out).Elem(), reflect.ValueOf(p).Elem())
	}
	return out
}

func TestDeepCopyEveryKind(t *testing.T) {
	one, two, three := 1, 2, 3
	in := &every{
		Ptr: &one, Slice: []string{"a", "b"}, Empty: make([]int, 0, 4),
		Labels:   map[string]string{"k": "v"},
		Nested:   map[string][]string{"x": {"y"}},
		ByStruct: map[string]ContainerStatus{"web": {State: ContainerState{Running: &ContainerStateRunning{}}}},
		Array:    [2]*int{&two, nil},
		Any:      &Container{Name: "c", Command: []string{"sh"}},
		Self:     &every{Ptr: &three, Labels: map[string]string{}},
		Structs:  []Container{{Name: "c", Env: []EnvVar{{Name: "A"}}}},
		hidden:   &one,
	}
	cp := copyAny(in)
	if !reflect.DeepEqual(in.Labels, cp.Labels) || !reflect.DeepEqual(in.Nested, cp.Nested) ||
		!reflect.DeepEqual(in.Any, cp.Any) || *cp.Self.Ptr != 3 || cp.Structs[0].Env[0].Name != "A" {
		t.Fatalf("copy differs: %+v", cp)
	}
	noneShared(t, in, cp)
	if cp.Nil != nil || cp.NilMap != nil || cp.AnyNil != nil || cp.Empty == nil || len(cp.Empty) != 0 {
		t.Fatalf("nil and empty values not kept: %#v %#v %#v %#v", cp.Nil, cp.NilMap, cp.AnyNil, cp.Empty)
	}
	if cp.Self.Labels == nil || cp.hidden != in.hidden {
		t.Fatalf("empty map or unexported field not kept")
	}
	// An append to the copy's empty slice must not write into the
	// original's spare room.
	cp.Empty = append(cp.Empty, 7)
	if in.Empty[:1][0] == 7 {
		t.Fatal("the copy's append wrote into the original's array")
	}
	*cp.Array[0], cp.ByStruct["web"].State.Running.StartedAt = 9, time.Unix(1, 0)
	if two != 2 || !in.ByStruct["web"].State.Running.StartedAt.IsZero() {
		t.Fatal("mutating the copy changed the original")
	}
}
