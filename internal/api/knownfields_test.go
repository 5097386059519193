package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOnlyKnownFields(t *testing.T) {
	cases := []struct {
		name string
		obj  Object
		data string
		want bool
	}{
		{"empty object", &Pod{}, `{}`, true},
		{"pod with every kind of value", &Pod{}, ` {"kind":"Pod","id":"web","labels":{"Any-Key.x/y":"v","":""},
			"desiredState":{"manifest":{"version":"v1beta1","containers":[{"name":"web","image":"i","cpu":10,"memory":-1.5e3,
			"ports":[{"containerPort":80,"hostPort":8080}],"env":[{"name":"A","value":"say \"hi\"\n\u00e9"}],
			"livenessProbe":{"httpGet":{"port":8080,"path":"/"}}}]}},"currentState":null,"annotations":{}} `, true},
		{"unknown top-level key", &Pod{}, `{"id":"web","idd":"x"}`, false},
		{"key differing by case", &Pod{}, `{"ID":"web"}`, false},
		{"unknown key in a list item", &Pod{}, `{"desiredState":{"manifest":{"containers":[{"name":"a"},{"Image":"x"}]}}}`, false},
		{"unknown key in a nested object", &Pod{}, `{"desiredState":{"host":"m","hots":"m"}}`, false},
		{"map keys are not fields", &Pod{}, `{"labels":{"whatever":"x","ID":"y"}}`, true},
		{"container statuses", &Pod{}, `{"currentState":{"info":{"net":{"state":{"running":{"startedAt":"2014-12-04T23:00:00Z"}},"restartCount":0},"web":{}}}}`, true},
		{"unknown key in a container status", &Pod{}, `{"currentState":{"info":{"net":{"state":{},"restartcount":0}}}}`, false},
		{"null info", &Pod{}, `{"currentState":{"info":null}}`, true},
		{"own decoder: not checked", &Pod{}, `{"desiredState":{"manifest":{"containers":[{"livenessProbe":{"httpGet":{"port":{"any":1}}}}]}}}`, true},
		{"escaped key: left to UnknownFields", &Pod{}, `{"\u0069d":"web"}`, false},
		{"null document", &Pod{}, `null`, false},
		{"array document", &Pod{}, `[{}]`, false},
		{"trailing bytes", &Pod{}, `{} {}`, false},
		{"truncated", &Pod{}, `{"id":"web"`, false},
		{"service", &Service{}, `{"id":"s","port":80,"selector":{"a":"b"},"containerPort":8080,"publicIPs":["1.2.3.4"]}`, true},
		{"minion", &Minion{}, `{"id":"m1","hostIP":"10.0.0.1","resources":{"capacity":{"cpu":1000}}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OnlyKnownFields(c.obj, []byte(c.data)); got != c.want {
				t.Fatalf("OnlyKnownFields(%s) = %v, want %v", c.data, got, c.want)
			}
			checkAgainstUnknownFields(t, c.obj, []byte(c.data), true)
		})
	}
}

// checkAgainstUnknownFields: a true answer must mean UnknownFields finds
// nothing; with both, a body UnknownFields accepts must be answered true
// unless it holds an escape (the fuzzer also finds duplicate keys, whose
// first value UnknownFields never sees).
func checkAgainstUnknownFields(t *testing.T, obj Object, data []byte, both bool) {
	t.Helper()
	if json.Unmarshal(data, New(mustResource(t, obj))) != nil {
		return // the precondition: only bodies json.Unmarshal took
	}
	fast := OnlyKnownFields(obj, data)
	unknown, err := UnknownFields(obj, data)
	if fast && (err != nil || len(unknown) > 0) {
		t.Fatalf("OnlyKnownFields(%s) = true, UnknownFields = %v, %v", data, unknown, err)
	}
	if both && !fast && err == nil && len(unknown) == 0 && !strings.Contains(string(data), `\`) {
		t.Fatalf("OnlyKnownFields(%s) = false, but UnknownFields finds nothing", data)
	}
}

func mustResource(t *testing.T, obj Object) Resource {
	t.Helper()
	res, err := ResourceOf(obj)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Every document json.Marshal writes from the API's types has only known
// fields.
func TestOnlyKnownFieldsOfEncodedObjects(t *testing.T) {
	for _, obj := range []Object{
		&Pod{TypeMeta: TypeMeta{ID: "p", Labels: map[string]string{"a": "b"}}, DesiredState: PodState{Manifest: ContainerManifest{
			Containers: []Container{{Name: "c", Image: "i", Env: []EnvVar{{Name: "E", Value: "v"}}, Ports: []Port{{ContainerPort: 1}}}}}},
			CurrentState: PodState{Info: PodInfo{{Name: "c", ContainerStatus: ContainerStatus{State: ContainerState{Running: &ContainerStateRunning{}}, Image: "i"}}}}},
		&ReplicationController{TypeMeta: TypeMeta{ID: "rc"}, DesiredState: ReplicationControllerState{Replicas: 2,
			ReplicaSelector: map[string]string{"a": "b"}, PodTemplate: PodTemplate{Labels: map[string]string{"a": "b"}}}},
		&Service{TypeMeta: TypeMeta{ID: "s"}, Port: 80},
		&Minion{TypeMeta: TypeMeta{ID: "m"}, HostIP: "10.0.0.1"},
		&Event{TypeMeta: TypeMeta{ID: "e"}, Reason: "r"},
	} {
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if !OnlyKnownFields(obj, data) {
			t.Errorf("OnlyKnownFields(%T, %s) = false", obj, data)
		}
		checkAgainstUnknownFields(t, obj, data, true)
	}
}

func FuzzOnlyKnownFields(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"x","labels":{"a":"b"}}`, `{"ID":"x"}`, `{"desiredState":{"manifest":{"containers":[{"name":"a","Image":"b"}]}}}`,
		`{"desiredState":{"manifest":{"containers":[{"livenessProbe":{"httpGet":{"port":"http"}}}]}}}`, `{"\u0069d":1}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstUnknownFields(t, &Pod{}, data, false)
		checkAgainstUnknownFields(t, &ReplicationController{}, data, false)
	})
}
