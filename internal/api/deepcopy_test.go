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
	orig, copied := map[uintptr]string{}, map[uintptr]string{}
	refs(reflect.ValueOf(obj), orig, "")
	refs(reflect.ValueOf(cp), copied, "")
	for p, path := range copied {
		if o, shared := orig[p]; shared {
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
