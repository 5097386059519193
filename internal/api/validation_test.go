package api

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

func goodPod() *Pod {
	return &Pod{
		TypeMeta: TypeMeta{ID: "web-1", Namespace: "default", Labels: map[string]string{"name": "webserver_pod", "kubelite.io/tier": "front"}},
		DesiredState: PodState{Manifest: ContainerManifest{
			Version: "v1beta1", ID: "web-1",
			Volumes: []Volume{{Name: "httpconf", Source: &VolumeSource{HostDir: &HostDir{Path: "/etc/httpd/conf"}}}, {Name: "scratch"}},
			Containers: []Container{{
				Name: "web", Image: "fedora/apache", CPU: 100, Memory: 50000000,
				Ports:         []Port{{ContainerPort: 80, HostPort: 8080}, {Name: "dns", ContainerPort: 53, HostPort: 8080, Protocol: "UDP"}},
				Env:           []EnvVar{{Name: "A_B", Value: "1"}},
				VolumeMounts:  []VolumeMount{{Name: "httpconf", MountPath: "/etc/httpd/conf"}},
				LivenessProbe: &LivenessProbe{HTTPGet: &HTTPGetAction{Path: "/", Port: NewIntOrStringFromInt(80)}},
			}},
		}},
	}
}

func goodRC() *ReplicationController {
	p := goodPod()
	return &ReplicationController{
		TypeMeta: TypeMeta{ID: "webservercontroller"},
		DesiredState: ReplicationControllerState{
			Replicas:        2,
			ReplicaSelector: map[string]string{"name": "webserver_pod"},
			PodTemplate:     PodTemplate{DesiredState: p.DesiredState, Labels: map[string]string{"name": "webserver_pod", "x": "y"}},
		},
	}
}

func goodService() *Service {
	return &Service{TypeMeta: TypeMeta{ID: "webserver"}, Port: 8080, Selector: map[string]string{"name": "webserver_pod"}, ContainerPort: NewIntOrStringFromInt(80)}
}

func fields(causes []StatusCause) string {
	var f []string
	for _, c := range causes {
		f = append(f, c.Reason+":"+c.Field)
	}
	sort.Strings(f)
	return strings.Join(f, " ")
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		obj  func() Object
		want string // sorted "reason:field" of every cause; "" = valid
	}{
		{"pod ok", func() Object { return goodPod() }, ""},
		{"rc ok", func() Object { return goodRC() }, ""},
		{"service ok", func() Object { return goodService() }, ""},
		{"minion named by IP", func() Object { return &Minion{TypeMeta: TypeMeta{ID: "192.168.1.201"}, HostIP: "192.168.1.201"} }, ""},
		{"event", func() Object { return &Event{TypeMeta: TypeMeta{ID: "web-1.17a2b3c1"}} }, ""},
		{"endpoints", func() Object { return &Endpoints{TypeMeta: TypeMeta{ID: "web"}, Endpoints: []string{"10.0.0.1:80"}} }, ""},
		{"binding", func() Object { return &Binding{PodID: "p", Host: "192.168.1.201"} }, ""},
		{"pod id missing", func() Object { p := goodPod(); p.ID = ""; return p }, "FieldValueRequired:id"},
		{"pod id upper case", func() Object { p := goodPod(); p.ID = "Web"; return p }, "FieldValueInvalid:id"},
		{"pod id 64 chars", func() Object { p := goodPod(); p.ID = strings.Repeat("a", 64); return p }, "FieldValueInvalid:id"},
		{"pod id 63 chars", func() Object { p := goodPod(); p.ID = strings.Repeat("a", 63); return p }, ""},
		{"bad namespace", func() Object { p := goodPod(); p.Namespace = "a_b"; return p }, "FieldValueInvalid:namespace"},
		{"every bad field named", func() Object {
			p := goodPod()
			c := &p.DesiredState.Manifest.Containers[0]
			c.Image = ""
			c.Ports[0].ContainerPort = 0
			c.Ports[1].HostPort = 70000
			c.Ports[1].Protocol = "SCTP"
			c.VolumeMounts[0].Name = "nope"
			p.DesiredState.Manifest.Containers = append(p.DesiredState.Manifest.Containers, Container{Name: "web", Image: "x"})
			return p
		}, "FieldValueDuplicate:desiredState.manifest.containers[1].name FieldValueInvalid:desiredState.manifest.containers[0].ports[0].containerPort FieldValueInvalid:desiredState.manifest.containers[0].ports[1].hostPort FieldValueNotSupported:desiredState.manifest.containers[0].ports[1].protocol FieldValueNotSupported:desiredState.manifest.containers[0].volumeMounts[0].name FieldValueRequired:desiredState.manifest.containers[0].image"},
		{"duplicate hostPort same protocol", func() Object {
			p := goodPod()
			p.DesiredState.Manifest.Containers[0].Ports[1].Protocol = "TCP"
			return p
		}, "FieldValueDuplicate:desiredState.manifest.containers[0].ports[1].hostPort"},
		{"duplicate volume", func() Object {
			p := goodPod()
			p.DesiredState.Manifest.Volumes = append(p.DesiredState.Manifest.Volumes, Volume{Name: "scratch"})
			return p
		}, "FieldValueDuplicate:desiredState.manifest.volumes[2].name"},
		{"bad version", func() Object { p := goodPod(); p.DesiredState.Manifest.Version = "v3"; return p }, "FieldValueNotSupported:desiredState.manifest.version"},
		{"bad label key and value", func() Object {
			p := goodPod()
			p.Labels = map[string]string{"-bad": "ok", "good": "bad value"}
			return p
		}, "FieldValueInvalid:labels FieldValueInvalid:labels.good"},
		{"label key prefix", func() Object { p := goodPod(); p.Labels = map[string]string{"Bad_Prefix/x": "y"}; return p }, "FieldValueInvalid:labels"},
		{"bad env and mount path", func() Object {
			p := goodPod()
			c := &p.DesiredState.Manifest.Containers[0]
			c.Env[0].Name = "1X"
			c.VolumeMounts[0].MountPath = "relative"
			return p
		}, "FieldValueInvalid:desiredState.manifest.containers[0].env[0].name FieldValueInvalid:desiredState.manifest.containers[0].volumeMounts[0].mountPath"},
		{"probe with two handlers", func() Object {
			p := goodPod()
			p.DesiredState.Manifest.Containers[0].LivenessProbe.Exec = &ExecAction{Command: []string{"true"}}
			return p
		}, "FieldValueInvalid:desiredState.manifest.containers[0].livenessProbe"},
		{"two restart policies", func() Object {
			p := goodPod()
			p.DesiredState.Manifest.RestartPolicy = RestartPolicy{Always: &RestartPolicyAlways{}, Never: &RestartPolicyNever{}}
			return p
		}, "FieldValueInvalid:desiredState.manifest.restartPolicy"},
		{"rc selector missing", func() Object { rc := goodRC(); rc.DesiredState.ReplicaSelector = nil; return rc }, "FieldValueRequired:desiredState.replicaSelector"},
		{"rc selector does not match template", func() Object {
			rc := goodRC()
			rc.DesiredState.ReplicaSelector = map[string]string{"name": "other"}
			return rc
		}, "FieldValueInvalid:desiredState.podTemplate.labels"},
		{"rc negative replicas and bad template", func() Object {
			rc := goodRC()
			rc.DesiredState.Replicas = -1
			rc.DesiredState.PodTemplate.DesiredState.Manifest.Containers[0].Image = " "
			return rc
		}, "FieldValueInvalid:desiredState.replicas FieldValueRequired:desiredState.podTemplate.desiredState.manifest.containers[0].image"},
		{"service id must start with a letter", func() Object { s := goodService(); s.ID = "1web"; return s }, "FieldValueInvalid:id"},
		{"service without selector, bad port", func() Object {
			s := goodService()
			s.Selector = nil
			s.Port = 0
			s.Protocol = "TCP"
			return s
		}, "FieldValueInvalid:port FieldValueRequired:selector"},
		{"service portal IP and affinity", func() Object {
			s := goodService()
			s.PortalIP = "10.254.0.300"
			s.SessionAffinity = "Sticky"
			return s
		}, "FieldValueInvalid:portalIP FieldValueNotSupported:sessionAffinity"},
		{"service named container port", func() Object { s := goodService(); s.ContainerPort = NewIntOrStringFromString("http"); return s }, ""},
		{"minion bad id and ip", func() Object { return &Minion{TypeMeta: TypeMeta{ID: "Minion_1"}, HostIP: "x"} }, "FieldValueInvalid:hostIP FieldValueInvalid:id"},
		{"endpoint bad", func() Object { return &Endpoints{TypeMeta: TypeMeta{ID: "web"}, Endpoints: []string{"10.0.0.1"}} }, "FieldValueInvalid:endpoints[0]"},
		{"binding empty", func() Object { return &Binding{} }, "FieldValueRequired:host FieldValueRequired:podID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := tc.obj()
			SetDefaults(obj)
			got := Validate(obj)
			if f := fields(got); f != tc.want {
				t.Fatalf("causes\n got: %s\nwant: %s\n(%+v)", f, tc.want, got)
			}
			err := ValidationError(obj, got)
			if (err == nil) != (tc.want == "") {
				t.Fatalf("ValidationError %v", err)
			}
			if err != nil {
				st := StatusOf(err)
				if st.Code != 422 || len(st.Details.Causes) != len(got) {
					t.Fatalf("status %+v", st)
				}
				for _, c := range got {
					if !strings.Contains(st.Message, c.Field) {
						t.Errorf("message %q does not name %s", st.Message, c.Field)
					}
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	p := &Pod{TypeMeta: TypeMeta{ID: "p"}, DesiredState: PodState{Manifest: ContainerManifest{
		Volumes:    []Volume{{Name: "v"}},
		Containers: []Container{{Name: "c", Image: "i", Ports: []Port{{ContainerPort: 80}, {ContainerPort: 53, Protocol: "udp"}}}},
	}}}
	SetDefaults(p)
	m := p.DesiredState.Manifest
	if m.Version != "v1beta1" || m.ID != "p" || m.RestartPolicy.Always == nil || m.Volumes[0].Source.EmptyDir == nil {
		t.Errorf("manifest defaults: %+v", m)
	}
	c := m.Containers[0]
	if c.ImagePullPolicy != PullIfNotPresent || c.Ports[0].Protocol != "TCP" || c.Ports[1].Protocol != "UDP" {
		t.Errorf("container defaults: %+v", c)
	}
	// Explicit values stay.
	p2 := &Pod{DesiredState: PodState{Manifest: ContainerManifest{Version: "v1beta2", ID: "x", RestartPolicy: RestartPolicy{Never: &RestartPolicyNever{}},
		Containers: []Container{{ImagePullPolicy: PullAlways}}}}}
	SetDefaults(p2)
	m2 := p2.DesiredState.Manifest
	if m2.Version != "v1beta2" || m2.ID != "x" || m2.RestartPolicy.Always != nil || m2.Containers[0].ImagePullPolicy != PullAlways {
		t.Errorf("defaults overrode explicit values: %+v", m2)
	}
	s := &Service{Port: 8080}
	SetDefaults(s)
	if s.Protocol != "TCP" || s.SessionAffinity != AffinityNone || s.ContainerPort.IntVal != 8080 {
		t.Errorf("service defaults: %+v", s)
	}
	s2 := &Service{Port: 8080, ContainerPort: NewIntOrStringFromString("http"), SessionAffinity: AffinityClientIP}
	SetDefaults(s2)
	if s2.ContainerPort.StrVal != "http" || s2.SessionAffinity != AffinityClientIP {
		t.Errorf("service explicit values changed: %+v", s2)
	}
	rc := &ReplicationController{DesiredState: ReplicationControllerState{PodTemplate: PodTemplate{DesiredState: PodState{Manifest: ContainerManifest{Containers: []Container{{}}}}}}}
	SetDefaults(rc)
	tm := rc.DesiredState.PodTemplate.DesiredState.Manifest
	if tm.Version != "v1beta1" || tm.RestartPolicy.Always == nil || tm.Containers[0].ImagePullPolicy != PullIfNotPresent {
		t.Errorf("rc template defaults: %+v", tm)
	}
	mi := &Minion{}
	SetDefaults(mi)
	if mi.KubeletPort != 0 {
		t.Errorf("minion kubeletPort defaulted to %d: readers must fall back to their --kubelet_port", mi.KubeletPort)
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		s                          string
		label, dns952, sub, qn, lv bool
	}{
		{"a", true, true, true, true, true},
		{"a-b", true, true, true, true, true},
		{"1a", true, false, true, true, true},
		{"a.b", false, false, true, true, true},
		{"A", false, false, false, true, true},
		{"a_b", false, false, false, true, true},
		{"-a", false, false, false, false, false},
		{"a-", false, false, false, false, false},
		{"", false, false, false, false, true},
		{"kubelite.io/app", false, false, false, true, false},
		{"/app", false, false, false, false, false},
		{strings.Repeat("a", 64), false, false, true, false, false},
	}
	for _, c := range cases {
		got := [5]bool{IsDNS1123Label(c.s), IsDNS952Label(c.s), IsDNS1123Subdomain(c.s), IsQualifiedName(c.s), IsValidLabelValue(c.s)}
		want := [5]bool{c.label, c.dns952, c.sub, c.qn, c.lv}
		if got != want {
			t.Errorf("%q: got %v want %v", c.s, got, want)
		}
	}
}

// FuzzDecodeValidate: no input decodes, defaults and validates into a panic,
// and a valid object still validates after a JSON round trip.
func FuzzDecodeValidate(f *testing.F) {
	for _, o := range []Object{goodPod(), goodRC(), goodService(), &Minion{TypeMeta: TypeMeta{ID: "m"}}} {
		b, _ := json.Marshal(o)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","desiredState":{"manifest":{"containers":[{"ports":[{"containerPort":"a"}]}]}}}`))
	f.Add([]byte(`{"containerPort":"http","port":-1,"selector":{"":""}}`))
	f.Add([]byte(`{"desiredState":{"replicaSelector":{"a":"b"},"podTemplate":{"labels":null}}}`))
	f.Add([]byte(`{"livenessProbe":{"httpGet":{"port":1e99}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range append(AllResources, Bindings) {
			obj, err := Decode(r, data)
			if err != nil {
				continue
			}
			cp := DeepCopy(obj)
			j1, _ := json.Marshal(obj)
			j2, _ := json.Marshal(cp)
			if string(j1) != string(j2) {
				t.Fatalf("%s: DeepCopy differs:\n%s\n%s", r, j1, j2)
			}
			SetDefaults(obj)
			causes := Validate(obj)
			_ = ValidationError(obj, causes)
			if len(causes) > 0 {
				continue
			}
			b, err := json.Marshal(obj)
			if err != nil {
				t.Fatalf("%s: valid object does not marshal: %v", r, err)
			}
			again, err := Decode(r, b)
			if err != nil {
				t.Fatalf("%s: valid object does not decode again: %v", r, err)
			}
			if c := Validate(again); len(c) > 0 {
				t.Fatalf("%s: valid object invalid after a round trip: %v\n%s", r, c, b)
			}
		}
	})
}

// FuzzParseSelector: parsing never panics, and a parsed selector's String
// parses back to the same selector.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"", "a=b", "a==b,c!=d", "DesiredState.Host=", " a = b ", "a", "=b", "a=b=c", ",", "a!=b!=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, sel.String(), err)
		}
		if again.String() != sel.String() {
			t.Fatalf("%q -> %q -> %q", s, sel.String(), again.String())
		}
		set := map[string]string{}
		for _, r := range sel.Requirements() {
			if r.Equals {
				set[r.Key] = r.Value
			}
		}
		_ = sel.Matches(set)
	})
}
