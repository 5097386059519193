package etcd

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"kubelite/internal/api"
)

// fillRandom sets v (settable) to random contents: empty and nil and
// non-empty maps and slices, strings that JSON escapes, times with and
// without monotonic readings in several zones, IntOrStrings of every kind.
func fillRandom(r *rand.Rand, v reflect.Value, depth int) {
	t := v.Type()
	switch {
	case t == timeType:
		zones := []*time.Location{time.UTC, time.Local, time.FixedZone("X", 3600), time.FixedZone("", -5*3600)}
		var tm time.Time
		switch r.Intn(6) {
		case 0:
		case 1:
			tm = time.Now()
		case 2:
			tm = time.Now().UTC()
		case 3:
			tm = time.Now().In(zones[r.Intn(len(zones))])
		case 4:
			tm = time.Time{}.In(zones[r.Intn(len(zones))])
		case 5:
			tm = time.Date(2014, 12, 4, 23, 0, 0, r.Intn(1e9), zones[r.Intn(len(zones))])
		}
		v.Set(reflect.ValueOf(tm))
		return
	case t == intOrStringType:
		v.Set(reflect.ValueOf(api.IntOrString{Kind: api.IntstrKind([]int{0, 1, 5}[r.Intn(3)]), IntVal: r.Intn(3) * 80, StrVal: randString(r)}))
		return
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(randString(r))
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(r.Intn(5) - 2))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(r.Intn(3)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat([]float64{0, 1.5, -2, 1e300}[r.Intn(4)])
	case reflect.Pointer:
		if depth > 6 || r.Intn(3) == 0 {
			return
		}
		p := reflect.New(t.Elem())
		fillRandom(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch n := r.Intn(4); {
		case n == 0 || depth > 6:
		case n == 1:
			v.Set(reflect.MakeSlice(t, 0, 0))
		default:
			s := reflect.MakeSlice(t, n-1, n-1)
			for i := 0; i < s.Len(); i++ {
				fillRandom(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		switch n := r.Intn(4); {
		case n == 0 || depth > 6:
		case n == 1:
			v.Set(reflect.MakeMap(t))
		default:
			m := reflect.MakeMap(t)
			for i := 0; i < n; i++ {
				k := reflect.New(t.Key()).Elem()
				fillRandom(r, k, depth+1)
				e := reflect.New(t.Elem()).Elem()
				fillRandom(r, e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				fillRandom(r, v.Field(i), depth+1)
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillRandom(r, v.Index(i), depth+1)
		}
	}
}

func randString(r *rand.Rand) string {
	return []string{"", "", "a", "web-00001", "héllo", "tab\there \"q\" <&> \u2028\u2029", "kubelite/webserver:v1", "\x00\x1f"}[r.Intn(8)]
}

// decodeOf is what the watch would decode from the bytes encode writes.
func decodeOf(t *testing.T, res api.Resource, obj api.Object, rev int64) api.Object {
	t.Helper()
	data, err := encode(obj)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decode(res, &mvccpb.KeyValue{Key: []byte("k"), Value: data}, rev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The canonical copy of an object is exactly what decoding its encoding
// gives, for every stored type filled at random (times with monotonic
// readings and zones, nil and empty maps and slices, IntOrString kinds, the
// resourceVersion); and it shares nothing with the original.
func TestCanonicalIsTheDecode(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	in := newInterner()
	for _, res := range api.AllResources {
		for i := 0; i < 600; i++ {
			obj := api.New(res)
			fillRandom(r, reflect.ValueOf(obj).Elem(), 0)
			rev := int64(100 + i)
			got, ok := canonical(in, obj, uint64(rev))
			if !ok {
				t.Fatalf("%s: no canonical copy of %#v", res, obj)
			}
			want := decodeOf(t, res, obj, rev)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("%s #%d: canonical differs from the decode\n got  %#v\n want %#v\n (JSON %s\n vs %s)", res, i, got, want, g, w)
			}
			// The original changed afterwards: the copy does not.
			fillRandom(r, reflect.ValueOf(obj).Elem(), 0)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s #%d: the copy shares memory with the original", res, i)
			}
		}
	}
}

// A pod as the registry writes it (defaults, a creation time from the
// clock, a status with container states): canonical equals the decode.
func TestCanonicalWrittenPod(t *testing.T) {
	p := decodeTemplate(t, 3)
	p.CreationTimestamp = time.Now()
	p.UID = "c0ffee"
	api.SetKind(p)
	p.DesiredState.Host = "minion-7"
	p.CurrentState.Status = api.PodRunning
	p.CurrentState.Info = api.PodInfo{{Name: "web", ContainerStatus: api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: time.Now()}}, RestartCount: 0}}}
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{HTTPGet: &api.HTTPGetAction{Port: api.NewIntOrStringFromString("http")}}
	p.DesiredState.Manifest.RestartPolicy.Always = &api.RestartPolicyAlways{}
	p.ResourceVersion = 3
	got, ok := canonical(newInterner(), p, 42)
	if !ok {
		t.Fatal("no canonical copy")
	}
	if want := decodeOf(t, api.Pods, p, 42); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

// A string the encoder would rewrite (not valid UTF-8) is not mirrored:
// the watch decodes the bytes instead.
func TestCanonicalRefusesInvalidUTF8(t *testing.T) {
	bad := "a\xffb"
	cases := map[string]api.Object{
		"id":          &api.Pod{TypeMeta: api.TypeMeta{ID: bad}},
		"label key":   &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Labels: map[string]string{bad: "x"}}},
		"label value": &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Labels: map[string]string{"x": bad}}},
		"info key":    &api.Pod{TypeMeta: api.TypeMeta{ID: "p"}, CurrentState: api.PodState{Info: api.PodInfo{{Name: bad}}}},
		"port name":   &api.Pod{DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{LivenessProbe: &api.LivenessProbe{TCPSocket: &api.TCPSocketAction{Port: api.NewIntOrStringFromString(bad)}}}}}}},
	}
	for name, obj := range cases {
		if _, ok := canonical(newInterner(), obj, 1); ok {
			t.Errorf("%s: canonical accepted a string that is not UTF-8", name)
		}
	}
}

// BenchmarkCanonicalPod: the copy the writer makes, against the decode it
// saves the watch (BenchmarkDecodePod).
func BenchmarkCanonicalPod(b *testing.B) {
	p := decodeTemplate(b, 1)
	p.CreationTimestamp = time.Now()
	in := newInterner()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := canonical(in, p, 7); !ok {
			b.Fatal("no copy")
		}
	}
}
