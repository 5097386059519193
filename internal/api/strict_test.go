package api

import (
	"errors"
	"reflect"
	"testing"
)

func TestHostileUnknownFields(t *testing.T) {
	cases := []struct {
		name string
		obj  Object
		data string
		want []UnknownField
		err  error
	}{
		{"exact keys", &Pod{}, `{"id":"a","kind":"Pod","labels":{"Any-Key":"v"},"desiredState":{"manifest":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]}},"currentState":{"info":{"net":{"state":{}}}}}`, nil, nil},
		{"upper-case id", &Pod{}, `{"ID":"a"}`, []UnknownField{{Path: "ID", Suggest: "id"}}, nil},
		{"mangled nested", &Pod{}, `{"Desiredstate":{"Manifest":{}}}`, []UnknownField{{Path: "Desiredstate", Suggest: "desiredState"}}, nil},
		{"typo in a container", &Pod{}, `{"desiredState":{"manifest":{"containers":[{"name":"c"},{"imagee":"x"}]}}}`,
			[]UnknownField{{Path: "desiredState.manifest.containers[1].imagee"}}, nil},
		{"key of a container's status (PodInfo is walked as the map it reads)", &Pod{}, `{"currentState":{"info":{"net":{"restartcount":1},"web":{"state":{"running":{}},"bogus":2}}}}`,
			[]UnknownField{{Path: "currentState.info.net.restartcount", Suggest: "restartCount"}, {Path: "currentState.info.web.bogus"}}, nil},
		{"IntOrString and time are not walked", &Service{}, `{"containerPort":"http","creationTimestamp":"2014-01-01T00:00:00Z"}`, nil, nil},
		{"service containerPort as number", &Service{}, `{"containerPort":80,"Port":1}`, []UnknownField{{Path: "Port", Suggest: "port"}}, nil},
		{"rc template", &ReplicationController{}, `{"desiredState":{"podTemplate":{"desiredState":{"manifest":{"volumes":[{"name":"v","source":{"hostdir":{"path":"/x"}}}]}}}}}`,
			[]UnknownField{{Path: "desiredState.podTemplate.desiredState.manifest.volumes[0].source.hostdir", Suggest: "hostDir"}}, nil},
		{"null", &Pod{}, `null`, nil, ErrNotObject},
		{"array", &Pod{}, `[{"id":"a"}]`, nil, ErrNotObject},
		{"string", &Pod{}, `"pod"`, nil, ErrNotObject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnknownFields(tc.obj, []byte(tc.data))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("UnknownFields = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// BenchmarkUnknownFields measures the strict check's cost per API write (a
// pod of the tutorial's size).
func BenchmarkUnknownFields(b *testing.B) {
	data := []byte(`{"id":"fedoraapache","kind":"Pod","apiVersion":"v1beta1","labels":{"name":"fedoraapache"},
	"desiredState":{"manifest":{"version":"v1beta1","id":"fedoraapache","containers":[{"name":"fedoraapache",
	"image":"fedora/apache","ports":[{"containerPort":80,"hostPort":8080}]}]}}}`)
	for b.Loop() {
		if u, err := UnknownFields(&Pod{}, data); err != nil || len(u) != 0 {
			b.Fatal(u, err)
		}
	}
}
