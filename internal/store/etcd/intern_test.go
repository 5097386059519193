package etcd

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"kubelite/internal/api"
)

// templatePod is a running pod as a replication controller's template
// makes them and a kubelet reports them (its currentState with the infra
// container's and the app's status, as most of a master's pods are): only
// its id, address and container ids differ from its siblings'.
func templatePod(i int) []byte {
	env := make([]api.EnvVar, 12)
	for j := range env {
		env[j] = api.EnvVar{Name: fmt.Sprintf("SETTING_%02d", j), Value: strings.Repeat("v", 40)}
	}
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	podIP := fmt.Sprintf("10.244.%d.%d", i/250, 2+i%250)
	status := func(image string, j int) api.ContainerStatus {
		return api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: started}},
			PodIP: podIP, Image: image, ContainerID: fmt.Sprintf("docker://%064x", 2*i+j)}
	}
	p := &api.Pod{
		TypeMeta: api.TypeMeta{ID: fmt.Sprintf("web-%05d", i), Namespace: "default", Labels: map[string]string{"app": "web", "tier": "frontend"}},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: fmt.Sprintf("web-%05d", i),
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{Name: "http", ContainerPort: 80}}, Env: env}}},
			Host: "minion-7"},
		CurrentState: api.PodState{Status: api.PodRunning, Phase: api.PodPhaseRunning, Host: "minion-7", HostIP: "192.168.1.7", PodIP: podIP,
			Info: api.PodInfo{{Name: "net", ContainerStatus: status("kubelite/pause:1", 0)}, {Name: "web", ContainerStatus: status("kubelite/webserver:v1", 1)}}},
		NodeSelector: map[string]string{"disk": "ssd"},
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return b
}

func decodeTemplate(t testing.TB, i int) *api.Pod {
	o, err := decode(api.Pods, &mvccpb.KeyValue{Key: []byte("k"), Value: templatePod(i)}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return o.(*api.Pod)
}

// Interning changes no value, and siblings' equal strings (a field's, a
// slice element's, a map's key and value) end up as one copy.
func TestInternSharesEqualStrings(t *testing.T) {
	in := newInterner()
	a, b := decodeTemplate(t, 1), decodeTemplate(t, 2)
	want := decodeTemplate(t, 1)
	in.object(a)
	in.object(b)
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("interning changed the pod:\n%+v\nwant\n%+v", a, want)
	}
	same := func(what, x, y string) {
		t.Helper()
		if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: %q and %q are not one copy", what, x, y)
		}
	}
	ca, cb := a.DesiredState.Manifest.Containers[0], b.DesiredState.Manifest.Containers[0]
	same("image", ca.Image, cb.Image)
	same("env value", ca.Env[3].Value, cb.Env[3].Value)
	same("env value within a pod", ca.Env[3].Value, ca.Env[4].Value)
	same("namespace", a.Namespace, b.Namespace)
	same("label value", a.Labels["app"], b.Labels["app"])
	keyOf := func(m map[string]string) string {
		for k := range m {
			if k == "app" {
				return k
			}
		}
		return ""
	}
	same("label key", keyOf(a.Labels), keyOf(b.Labels))
	same("node selector value", a.NodeSelector["disk"], b.NodeSelector["disk"])
	ia, ib := a.CurrentState.Info, b.CurrentState.Info
	same("container status name", ia[1].Name, ib[1].Name)
	same("container status image", ia[1].Image, ib[1].Image)
	if unsafe.StringData(a.ID) == unsafe.StringData(b.ID) {
		t.Error("different ids share a copy")
	}
}

// The table is bounded: past internMaxEntries it starts over, and long
// strings never enter it.
func TestInternBounded(t *testing.T) {
	in := newInterner()
	for i := 0; i < internMaxEntries+10; i++ {
		in.str(fmt.Sprint("s", i))
	}
	if n := len(in.m); n > internMaxEntries {
		t.Fatalf("table holds %d strings, bound %d", n, internMaxEntries)
	}
	in.str(strings.Repeat("x", internMaxLen+1))
	if _, ok := in.m[strings.Repeat("x", internMaxLen+1)]; ok {
		t.Fatal("a string over internMaxLen entered the table")
	}
}

// Holding 5,000 pods of one template takes at least a quarter less heap
// interned than not. With the classic encoding/json, running pods with
// their two containers' status: 3,584 against 1,904 bytes a pod (4,313
// against 2,743 while api.PodInfo was a map, whose strings were not
// interned either); its v2 implementation decodes into less, 2,859 against
// 1,908. Pods without status took 3,025 against 1,488, the labels and node
// selector shared whole (2,160 when only strings were shared).
func TestInternSavesHeap(t *testing.T) {
	const n = 5000
	heapOf := func(intern bool) uint64 {
		in := newInterner()
		pods := make([]*api.Pod, n)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range pods {
			pods[i] = decodeTemplate(t, i)
			if intern {
				in.object(pods[i])
			}
		}
		in = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(pods)
		return after.HeapAlloc - before.HeapAlloc
	}
	plain, interned := heapOf(false), heapOf(true)
	t.Logf("%d pods: %d bytes a pod decoded, %d interned", n, plain/n, interned/n)
	if interned > plain*3/4 {
		t.Fatalf("interned pods hold %d bytes, plain %d: want at least a quarter less", interned, plain)
	}
}

// BenchmarkDecodePod: decoding a template pod, alone and then interned.
func BenchmarkDecodePod(b *testing.B) {
	kv := &mvccpb.KeyValue{Key: []byte("k"), Value: templatePod(1)}
	for _, intern := range []bool{false, true} {
		b.Run(fmt.Sprintf("intern=%v", intern), func(b *testing.B) {
			in := newInterner()
			b.ReportAllocs()
			for b.Loop() {
				o, err := decode(api.Pods, kv, 7)
				if err != nil {
					b.Fatal(err)
				}
				if intern {
					in.object(o)
				}
			}
		})
	}
}

// BenchmarkEncodePod: encoding a template pod as a write stores it (and a
// list or watch answers it).
func BenchmarkEncodePod(b *testing.B) {
	p := decodeTemplate(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// Small string maps are shared whole: equal ones (however they were made:
// decoded or canonical) are one map, unequal ones are not, whatever
// their strings hold, and larger maps and the table itself are bounded.
func TestInternSharesSmallMaps(t *testing.T) {
	in := newInterner()
	ptr := func(m map[string]string) uintptr { return reflect.ValueOf(m).Pointer() }
	a, b := decodeTemplate(t, 1), decodeTemplate(t, 2)
	in.object(a)
	in.object(b)
	if len(a.Labels) == 0 || ptr(a.Labels) != ptr(b.Labels) {
		t.Errorf("equal labels of two decoded pods are two maps: %v, %v", a.Labels, b.Labels)
	}
	c, ok := canonical(in, decodeTemplate(t, 3), 7)
	if !ok {
		t.Fatal("no canonical copy of the template")
	}
	if ptr(c.(*api.Pod).Labels) != ptr(a.Labels) {
		t.Errorf("a canonical copy's equal labels are a map of its own")
	}
	for _, tc := range []struct{ x, y map[string]string }{
		{map[string]string{"a\x00": "b"}, map[string]string{"a": "\x00b"}},
		{map[string]string{"a": "bc"}, map[string]string{"ab": "c"}},
		{map[string]string{"a": "b"}, map[string]string{"a": "b", "c": ""}},
		{map[string]string{"": ""}, map[string]string{"\x00": ""}},
	} {
		x, y := in.strMap(tc.x), in.strMap(tc.y)
		if ptr(x) == ptr(y) || !reflect.DeepEqual(x, tc.x) || !reflect.DeepEqual(y, tc.y) {
			t.Errorf("%q and %q: shared %v, got %q and %q", tc.x, tc.y, ptr(x) == ptr(y), x, y)
		}
	}
	big := map[string]string{}
	for i := range internMaxMap + 1 {
		big[fmt.Sprint("k", i)] = "v"
	}
	if x, y := in.strMap(big), in.strMap(big); ptr(x) == ptr(y) || !reflect.DeepEqual(x, big) {
		t.Errorf("a map of %d entries: shared %v, equal %v", len(big), ptr(x) == ptr(y), reflect.DeepEqual(x, big))
	}
	for i := 0; i < internMaxEntries+10; i++ {
		in.strMap(map[string]string{"n": fmt.Sprint(i)})
	}
	if n := len(in.maps); n > internMaxEntries {
		t.Fatalf("table holds %d maps, bound %d", n, internMaxEntries)
	}
}
