package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// oldPodInfo is what PodInfo was: its JSON is what PodInfo's must stay.
type oldPodInfo map[string]ContainerStatus

// The states PodInfo was a map in and is a slice in, as a field: the
// omitempty of the one and the other must agree.
type (
	oldState struct {
		Host string     `json:"host,omitempty"`
		Info oldPodInfo `json:"info,omitempty"`
	}
	newState struct {
		Host string  `json:"host,omitempty"`
		Info PodInfo `json:"info,omitempty"`
	}
)

// infoOf is the PodInfo m stands for (nil for nil), built with Set.
func infoOf(m oldPodInfo) PodInfo {
	if m == nil {
		return nil
	}
	out := PodInfo{}
	for name, st := range m {
		out.Set(name, st)
	}
	return out
}

var (
	t0      = time.Date(2014, 12, 4, 23, 0, 0, 5, time.UTC)
	running = ContainerStatus{State: ContainerState{Running: &ContainerStateRunning{StartedAt: t0}}, RestartCount: 1,
		PodIP: "10.244.1.7", Image: "kubelite/webserver:v1", ContainerID: "docker://0123abcd"}
	waiting = ContainerStatus{State: ContainerState{Waiting: &ContainerStateWaiting{Reason: "image <web> & \"friends\" not present \u2028"}}}
	ended   = ContainerStatus{State: ContainerState{Termination: &ContainerStateTerminated{ExitCode: 137, Signal: 9, Reason: "OOMKilled",
		StartedAt: t0, FinishedAt: t0.Add(time.Hour)}}}
	zoned = ContainerStatus{State: ContainerState{Running: &ContainerStateRunning{StartedAt: t0.In(time.FixedZone("X", 3600))}}}
)

// infoCases are the maps the encodings are compared on.
var infoCases = []struct {
	name string
	m    oldPodInfo
}{
	{"nil", nil},
	{"empty", oldPodInfo{}},
	{"net only", oldPodInfo{"net": running}},
	{"net and an app", oldPodInfo{"net": running, "web": waiting}},
	{"names sorting before net", oldPodInfo{"web": running, "net": running, "db": ended, "Z": waiting, "": {}}},
	{"names JSON escapes", oldPodInfo{`a"b`: running, `back\slash`: waiting, "tab\there": ended, "nl\n": {}}},
	{"names HTML escapes", oldPodInfo{"<script>": running, "a&b": waiting, "x\u2028y": ended}},
	{"names not ASCII", oldPodInfo{"héllo": running, "日本": waiting, "\x7f": {}}},
	{"name not UTF-8", oldPodInfo{"a\xffb": running}},
	{"time zone", oldPodInfo{"web": zoned}},
	{"nine containers", oldPodInfo{"c1": running, "c2": waiting, "c3": ended, "c4": {}, "c5": running, "c6": running, "c7": running, "c8": running, "c9": running}},
}

// PodInfo's JSON is byte for byte the map's: alone, as an omitempty field
// (nil and empty left out), through an encoder that does not escape HTML
// and one that indents.
func TestPodInfoJSONIsTheMaps(t *testing.T) {
	encodings := []struct {
		name string
		enc  func(v any) ([]byte, error)
	}{
		{"Marshal", json.Marshal},
		{"MarshalIndent", func(v any) ([]byte, error) { return json.MarshalIndent(v, ">", "\t") }},
		{"Encoder without HTML escaping", func(v any) ([]byte, error) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			err := enc.Encode(v)
			return b.Bytes(), err
		}},
	}
	for _, tc := range infoCases {
		for _, e := range encodings {
			info := infoOf(tc.m)
			for _, v := range []struct {
				what     string
				old, new any
			}{
				{"alone", tc.m, info},
				{"field", oldState{Host: "h", Info: tc.m}, newState{Host: "h", Info: info}},
				{"pointer", &tc.m, &info},
			} {
				want, err := e.enc(v.old)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.enc(v.new)
				if err != nil {
					t.Fatalf("%s, %s, %s: %v", tc.name, e.name, v.what, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s, %s, %s:\n got  %s\n want %s", tc.name, e.name, v.what, got, want)
				}
			}
		}
	}
	// And in the real PodState: no "info" key for nil or empty.
	for _, info := range []PodInfo{nil, {}} {
		b, err := json.Marshal(PodState{Host: "h", Info: info})
		if err != nil || strings.Contains(string(b), "info") {
			t.Errorf("PodState with info %#v: %s, %v", info, b, err)
		}
	}
}

// A PodInfo built by hand out of order, or with a name twice, is written
// as the map it stands for (the last entry of a name wins), and read as
// Get and Status say.
func TestPodInfoBuiltByHand(t *testing.T) {
	info := PodInfo{{Name: "web", ContainerStatus: waiting}, {Name: "net", ContainerStatus: ended}, {Name: "web", ContainerStatus: running}}
	m := oldPodInfo{"web": waiting, "net": ended}
	m["web"] = running
	got, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(m); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if info[0].Name != "web" || info[1].Name != "net" {
		t.Errorf("MarshalJSON reordered its receiver: %+v", info)
	}
	if st, ok := info.Get("web"); !ok || !reflect.DeepEqual(st, running) || !reflect.DeepEqual(info.Status("net"), ended) {
		t.Errorf("Get(web) = %+v, %v; Status(net) = %+v", st, ok, info.Status("net"))
	}
}

// Decoding gives what decoding into the map gave: keys in any order, the
// last of a key given twice, null as nil, {} as empty, escapes unquoted.
func TestPodInfoUnmarshalIsTheMaps(t *testing.T) {
	runningJSON, _ := json.Marshal(running)
	for _, data := range []string{
		`null`,
		` null `,
		`{}`,
		" {\n} ",
		`{"net":` + string(runningJSON) + `}`,
		`{"web":{"state":{"waiting":{"reason":"x"}}},"net":{"restartCount":2}}`,
		`{"web":{"restartCount":1},"net":{},"web":{"image":"second"}}`,
		`{"web":null,"net":{}}`,
		`{"w\u0065b":{},"a\"b":{},"\u00e9":{},"\ud83d\ude00":{}}`,
		"{\"a\xffb\":{}}",
		` { "web" : { "restartCount" : 3 , "image" : "i" } , "net" : { } } `,
		`{"web":{"RESTARTCOUNT":4,"unknownKey":[1,{"x":"}"}],"image":"a]}b"}}`,
		`{"web":{"state":{"running":{"startedAt":"2014-12-04T23:00:00+01:00"}}}}`,
	} {
		var m oldPodInfo
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("%s: the map's decode: %v", data, err)
		}
		var got PodInfo
		if err := json.Unmarshal([]byte(data), &got); err != nil {
			t.Errorf("%s: %v", data, err)
			continue
		}
		if want := infoOf(m); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %#v\n want %#v", data, got, want)
		}
	}
}

// Into a PodInfo that has entries, a decode adds to them, as into a map.
func TestPodInfoUnmarshalAdds(t *testing.T) {
	data := []byte(`{"web":{"restartCount":5},"z":{}}`)
	m := oldPodInfo{"net": running, "web": waiting}
	info := infoOf(m)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	if want := infoOf(m); !reflect.DeepEqual(info, want) {
		t.Errorf("got  %#v\nwant %#v", info, want)
	}
}

// Written and read back, a PodInfo (and a pod holding one) is itself.
func TestPodInfoRoundTrip(t *testing.T) {
	for _, tc := range infoCases {
		if tc.name == "name not UTF-8" || tc.name == "time zone" {
			continue // the byte replaced, a zone of another pointer: as the map's
		}
		info := infoOf(tc.m)
		b, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		var got PodInfo
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, info) {
			t.Errorf("%s: %s read back as %#v", tc.name, b, got)
		}
	}
	p := &Pod{TypeMeta: TypeMeta{ID: "p"}, CurrentState: PodState{Host: "m", Info: infoOf(oldPodInfo{"net": running, "web": ended})}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got Pod
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.CurrentState.Info, p.CurrentState.Info) {
		t.Errorf("pod's info %s read back as %#v", b, got.CurrentState.Info)
	}
	if got.DesiredState.Info != nil {
		t.Errorf("an absent info decoded as %#v", got.DesiredState.Info)
	}
}

// Bad input is an error, never a panic: a value of the wrong type is a
// type error naming the container (the map's error did not), with no
// position (JSONErrorAt -1); malformed JSON handed to the method directly
// is encoding/json's syntax error.
func TestPodInfoUnmarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		data  string
		field string // of the type error; "" for another error
		typ   string
	}{
		{`"x"`, "", "api.PodInfo"},
		{`[{"name":"web"}]`, "", "api.PodInfo"},
		{`7`, "", "api.PodInfo"},
		{`true`, "", "api.PodInfo"},
		{`{"web":"x"}`, "web", "api.ContainerStatus"},
		{`{"web":[]}`, "web", "api.ContainerStatus"},
		{`{"net":{},"web":{"restartCount":"x"}}`, "web.restartCount", "int"},
		{`{"web":{"restartCount":1.5}}`, "web.restartCount", "int"},
		{`{"web":{"state":{"running":"x"}}}`, "web.state.running", "api.ContainerStateRunning"},
		{`{"web":{"restartCount":"x"},"db":{"image":7}}`, "web.restartCount", "int"},
	} {
		var info PodInfo
		err := json.Unmarshal([]byte(tc.data), &info)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("%s: error %v, want a type error", tc.data, err)
			continue
		}
		if te.Field != tc.field && !strings.HasSuffix(te.Field, "."+tc.field) || te.Type.String() != tc.typ {
			t.Errorf("%s: field %q type %s, want %q %s (%v)", tc.data, te.Field, te.Type, tc.field, tc.typ, err)
		}
		if at := JSONErrorAt([]byte(tc.data), err); at != -1 {
			t.Errorf("%s: JSONErrorAt %d, want -1", tc.data, at)
		}
		// In a pod, the error names the container too.
		doc := `{"id":"p","currentState":{"info":` + tc.data + `}}`
		var p Pod
		if err := json.Unmarshal([]byte(doc), &p); !errors.As(err, &te) || !strings.HasSuffix(te.Field, tc.field) {
			t.Errorf("%s: %v", doc, err)
		}
	}
	// A value that does not decode for another reason: as the map's decode.
	data := []byte(`{"web":{"state":{"running":{"startedAt":"yesterday"}}}}`)
	var m oldPodInfo
	var info PodInfo
	if want, got := json.Unmarshal(data, &m), json.Unmarshal(data, &info); want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("bad time: %v, want %v", got, want)
	}
	for _, bad := range []string{``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a" {}}`, `{"a":{},}`, `{"a":{} "b":{}}`, `{"a":{]}`, `{"a":{}}}`, `{"a":{}} x`,
		`{"a":{"b":"}`, `{"a`, `{a:{}}`, `{"\q":{}}`, "{\"\x01\":{}}", `nul`, `nullx`, `[`, `"x`, `{"a":nul}`, `{"a":{}`, `{"a":{"b":[}}`} {
		if err := info.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%q): no error", bad)
		}
	}
}

func TestPodInfoSetGet(t *testing.T) {
	var info PodInfo
	names := func() []string {
		var out []string
		for _, e := range info {
			out = append(out, e.Name)
		}
		return out
	}
	if _, ok := info.Get("web"); ok || !reflect.DeepEqual(info.Status("web"), ContainerStatus{}) || len(info) != 0 {
		t.Fatal("a nil PodInfo has entries")
	}
	steps := []struct {
		name  string
		st    ContainerStatus
		names []string
	}{
		{"web", waiting, []string{"web"}},
		{"net", running, []string{"net", "web"}},
		{"zz", ended, []string{"net", "web", "zz"}},
		{"db", ended, []string{"db", "net", "web", "zz"}},
		{"web", running, []string{"db", "net", "web", "zz"}}, // replaced
		{"", waiting, []string{"", "db", "net", "web", "zz"}},
	}
	want := map[string]ContainerStatus{}
	for _, s := range steps {
		info.Set(s.name, s.st)
		want[s.name] = s.st
		if got := names(); !reflect.DeepEqual(got, s.names) {
			t.Fatalf("after Set(%q): names %q, want %q", s.name, got, s.names)
		}
		for name, st := range want {
			if got, ok := info.Get(name); !ok || !reflect.DeepEqual(got, st) || !reflect.DeepEqual(info.Status(name), st) {
				t.Fatalf("after Set(%q): Get(%q) = %+v, %v, want %+v", s.name, name, got, ok, st)
			}
		}
	}
	if _, ok := info.Get("absent"); ok {
		t.Fatal("Get of an absent name")
	}
}

// Fuzzed documents decode as into the map, or fail as it does, and what
// decodes is written back as the map would be.
func FuzzPodInfoJSON(f *testing.F) {
	for _, s := range []string{`null`, `{}`, `{"web":{"restartCount":1},"net":{}}`, `{"a":{},"a":{"image":"x"}}`, `{"\u00e9":null}`,
		`{"web":{"state":{"running":{"startedAt":"2014-12-04T23:00:00Z"}}}}`, `[]`, `{"a":{]}`, `{"a":"}"}`, `{"a":{"image":"<&>"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m oldPodInfo
		errMap := json.Unmarshal(data, &m)
		var info PodInfo
		err := json.Unmarshal(data, &info)
		if (err == nil) != (errMap == nil) {
			t.Fatalf("%q: error %v, the map's %v", data, err, errMap)
		}
		if err != nil {
			return
		}
		if want := infoOf(m); !reflect.DeepEqual(info, want) {
			t.Fatalf("%q: %#v, want %#v", data, info, want)
		}
		got, err := json.Marshal(info)
		want, errMap := json.Marshal(m)
		if (err == nil) != (errMap == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%q: written %s (%v), the map %s (%v)", data, got, err, want, errMap)
		}
	})
}

// BenchmarkPodInfoJSON: a running pod's info (the infra's status and an
// app's), written and read as PodInfo and as the map it was.
func BenchmarkPodInfoJSON(b *testing.B) {
	m := oldPodInfo{"net": running, "web": running}
	info := infoOf(m)
	data, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		val  any
		ptr  func() any
	}{
		{"map", m, func() any { return new(oldPodInfo) }},
		{"PodInfo", info, func() any { return new(PodInfo) }},
	} {
		b.Run("marshal/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(v.val); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("unmarshal/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := json.Unmarshal(data, v.ptr()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
