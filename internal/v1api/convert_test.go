package v1api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kubelite/internal/api"
)

// gen makes random internal objects within what v1 can say (the fields v1
// has no place for are tested apart: they survive through the base).
type gen struct{ r *rand.Rand }

func (g gen) str() string {
	if g.r.IntN(4) == 0 {
		return ""
	}
	const letters = "abcxyz-09./:"
	n := 1 + g.r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(len(letters))]
	}
	return string(b)
}

func (g gen) strs() []string {
	n := g.r.IntN(3)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g gen) smap() map[string]string {
	n := g.r.IntN(3)
	if n == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("k%d%s", i, g.str())] = g.str()
	}
	return m
}

func (g gen) i32() int { return int(g.r.Int32N(1<<20)) - g.r.IntN(2)*(1<<19) }

func (g gen) time() time.Time {
	if g.r.IntN(3) == 0 {
		return time.Time{}
	}
	return time.Unix(1_700_000_000+g.r.Int64N(1e8), 0).UTC()
}

func (g gen) meta(namespaced bool) api.TypeMeta {
	m := api.TypeMeta{
		ID: g.str(), UID: g.str(), CreationTimestamp: g.time(), ResourceVersion: g.r.Uint64N(1 << 62),
		Labels: g.smap(), Annotations: g.smap(), GenerateName: g.str(),
	}
	if namespaced {
		m.Namespace = g.str()
	}
	return m
}

func (g gen) intstr() api.IntOrString {
	if g.r.IntN(2) == 0 {
		return api.NewIntOrStringFromString(g.str())
	}
	return api.NewIntOrStringFromInt(g.i32())
}

func (g gen) container() api.Container {
	c := api.Container{
		Name: g.str(), Image: g.str(), Command: g.strs(), WorkingDir: g.str(),
		Memory: g.r.Int64N(1 << 40), Privileged: g.r.IntN(2) == 0,
		ImagePullPolicy: []string{"", api.PullAlways, api.PullNever, api.PullIfNotPresent, "odd"}[g.r.IntN(5)],
	}
	if g.r.IntN(2) == 0 {
		c.CPU = 1 + g.r.Int64N(1e6)
		c.CPUQuota = g.r.IntN(2) == 0
	}
	for i := g.r.IntN(3); i > 0; i-- {
		c.Ports = append(c.Ports, api.Port{Name: g.str(), HostPort: g.i32(), ContainerPort: g.i32(), Protocol: g.str(), HostIP: g.str()})
	}
	for i := g.r.IntN(3); i > 0; i-- {
		c.Env = append(c.Env, api.EnvVar{Name: g.str(), Value: g.str()})
	}
	for i := g.r.IntN(3); i > 0; i-- {
		c.VolumeMounts = append(c.VolumeMounts, api.VolumeMount{Name: g.str(), ReadOnly: g.r.IntN(2) == 0, MountPath: g.str()})
	}
	if g.r.IntN(2) == 0 {
		lp := &api.LivenessProbe{InitialDelaySeconds: int64(g.i32()), TimeoutSeconds: int64(g.i32())}
		switch g.r.IntN(4) {
		case 0:
			lp.HTTPGet = &api.HTTPGetAction{Path: g.str(), Port: g.intstr(), Host: g.str()}
		case 1:
			lp.TCPSocket = &api.TCPSocketAction{Port: g.intstr()}
		case 2:
			lp.Exec = &api.ExecAction{Command: g.strs()}
		}
		c.LivenessProbe = lp
	}
	return c
}

func (g gen) manifest() api.ContainerManifest {
	var m api.ContainerManifest
	for i := g.r.IntN(3); i > 0; i-- {
		v := api.Volume{Name: g.str()}
		switch g.r.IntN(3) {
		case 1:
			v.Source = &api.VolumeSource{HostDir: &api.HostDir{Path: g.str()}}
		case 2:
			v.Source = &api.VolumeSource{EmptyDir: &api.EmptyDir{}}
		}
		m.Volumes = append(m.Volumes, v)
	}
	for i := g.r.IntN(3); i > 0; i-- {
		m.Containers = append(m.Containers, g.container())
	}
	switch g.r.IntN(4) {
	case 1:
		m.RestartPolicy.Always = &api.RestartPolicyAlways{}
	case 2:
		m.RestartPolicy.OnFailure = &api.RestartPolicyOnFailure{}
	case 3:
		m.RestartPolicy.Never = &api.RestartPolicyNever{}
	}
	return m
}

func (g gen) pod() *api.Pod {
	p := &api.Pod{TypeMeta: g.meta(true), NodeSelector: g.smap()}
	p.DesiredState.Manifest = g.manifest()
	p.DesiredState.Host = g.str()
	cs := &p.CurrentState
	cs.Phase = api.PodPhase(g.str())
	cs.HostIP, cs.PodIP, cs.Reason, cs.Message = g.str(), g.str(), g.str(), g.str()
	for i := g.r.IntN(3); i > 0; i-- {
		st := api.ContainerStatus{RestartCount: g.i32(), Image: g.str(), ContainerID: g.str()}
		switch g.r.IntN(4) {
		case 1:
			st.State.Waiting = &api.ContainerStateWaiting{Reason: g.str()}
		case 2:
			st.State.Running = &api.ContainerStateRunning{StartedAt: g.time()}
		case 3:
			st.State.Termination = &api.ContainerStateTerminated{
				ExitCode: g.i32(), Signal: g.i32(), Reason: g.str(), Message: g.str(), StartedAt: g.time(), FinishedAt: g.time(),
			}
		}
		cs.Info.Set(fmt.Sprintf("c%d%s", i, g.str()), st)
	}
	return p
}

func (g gen) rc() *api.ReplicationController {
	rc := &api.ReplicationController{TypeMeta: g.meta(true)}
	rc.DesiredState.Replicas = g.i32()
	rc.DesiredState.ReplicaSelector = map[string]string{"app": g.str()}
	tpl := &rc.DesiredState.PodTemplate
	tpl.Labels, tpl.NodeSelector = g.smap(), g.smap()
	tpl.DesiredState.Manifest = g.manifest()
	tpl.DesiredState.Host = g.str()
	rc.CurrentState.Replicas = g.i32()
	return rc
}

func (g gen) service() *api.Service {
	s := &api.Service{
		TypeMeta: g.meta(true), Selector: g.smap(), CreateExternalLoadBalancer: g.r.IntN(2) == 0,
		PublicIPs: g.strs(), SessionAffinity: g.str(),
	}
	if g.r.IntN(4) != 0 {
		s.Port, s.Protocol, s.ContainerPort = g.i32(), g.str(), g.intstr()
		if s.ContainerPort.IsZero() {
			s.ContainerPort = api.IntOrString{} // unset either way: v1 has no empty target port
		}
	}
	if g.r.IntN(2) == 0 {
		s.PortalIP = fmt.Sprintf("10.254.%d.%d", g.r.IntN(256), g.r.IntN(256))
	}
	return s
}

func (g gen) endpoints() *api.Endpoints {
	e := &api.Endpoints{TypeMeta: g.meta(true), Endpoints: []string{}}
	for i := g.r.IntN(5); i > 0; i-- {
		host := fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
		if g.r.IntN(4) == 0 {
			host = fmt.Sprintf("fd00::%x", g.r.IntN(65536))
		}
		e.Endpoints = append(e.Endpoints, fmt.Sprintf("%s:%d", bracket(host), 1+g.r.IntN(3)))
	}
	return e
}

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func (g gen) minion() *api.Minion {
	m := &api.Minion{TypeMeta: g.meta(false), HostIP: g.str(), Unschedulable: g.r.IntN(2) == 0, PodCIDR: g.str(), KubeletPort: g.i32()}
	if g.r.IntN(2) == 0 {
		m.Resources.Capacity = api.Capacity{CPU: g.r.Int64N(1e6), Memory: g.r.Int64N(1 << 40)}
	}
	if g.r.IntN(4) != 0 {
		m.Status = api.MinionStatus{
			Condition: []api.MinionCondition{api.MinionReady, api.MinionNotReady, api.MinionUnknown}[g.r.IntN(3)],
			Reason:    g.str(), LastHeartbeat: g.time(), NotReadySince: g.time(),
		}
	}
	return m
}

func (g gen) event() *api.Event {
	return &api.Event{
		TypeMeta: g.meta(true),
		InvolvedObject: api.ObjectReference{
			Kind: g.str(), Namespace: g.str(), Name: g.str(), UID: g.str(), APIVersion: g.str(),
			ResourceVersion: g.r.Uint64N(1 << 40), FieldPath: g.str(),
		},
		Status: g.str(), Reason: g.str(), Message: g.str(), Source: g.str(), Timestamp: g.time(),
	}
}

// objects returns one random object of every kind with its row.
func (g gen) objects() []api.Object {
	return []api.Object{g.pod(), g.rc(), g.service(), g.endpoints(), g.minion(), g.event()}
}

// normalize fills what FromV1 always writes (kind and apiVersion).
func normalize(o api.Object) api.Object {
	api.SetKind(o)
	o.Meta().APIVersion = api.APIVersion
	return o
}

// roundTrip converts o to v1 and back over base, optionally through JSON
// (the wire), and reports the difference.
func roundTrip(t *testing.T, o, base api.Object, viaJSON bool) api.Object {
	t.Helper()
	res, err := api.ResourceOf(o)
	if err != nil {
		t.Fatal(err)
	}
	k := kindOfResource(res)
	v := k.toV1(o)
	if viaJSON {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %T: %v", v, err)
		}
		nv := k.newV1()
		if err := json.Unmarshal(data, nv); err != nil {
			t.Fatalf("unmarshal %s: %v", data, err)
		}
		v = nv
	}
	back, err := k.fromV1(v, base)
	if err != nil {
		t.Fatalf("fromV1 %s: %v", k.kind, err)
	}
	return back
}

func checkRoundTrips(t *testing.T, seed uint64) {
	g := gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, o := range g.objects() {
		o = normalize(o)
		for _, viaJSON := range []bool{false, true} {
			// On create there is no base: what v1 cannot say is gone, and
			// nothing else.
			if got := roundTrip(t, o, nil, viaJSON); !same(got, o, viaJSON) {
				t.Fatalf("seed %d, json %v: %T round trip differs:\n in: %s\nout: %s", seed, viaJSON, o, asJSON(o), asJSON(got))
			}
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkRoundTrips(t, seed) })
}

func TestRoundTripManySeeds(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		checkRoundTrips(t, seed)
	}
}

// TestV1OnlyFieldsSurviveThroughBase: the fields v1 has no place for are
// kept from the stored object on a v1 update.
func TestV1OnlyFieldsSurviveThroughBase(t *testing.T) {
	p := normalize(gen{rand.New(rand.NewPCG(7, 7))}.pod()).(*api.Pod)
	p.SelfLink = "/api/v1beta1/pods/x?namespace=default"
	p.DesiredState.Manifest.Version, p.DesiredState.Manifest.ID, p.DesiredState.Manifest.UUID = "v1beta1", "x", "u-1"
	p.DesiredState.Status, p.CurrentState.Status, p.CurrentState.Host = api.PodRunning, api.PodRunning, "m1"
	p.CurrentState.Info.Set("net", api.ContainerStatus{PodIP: "10.0.0.9"})
	p.CurrentState.Info.Set("web", api.ContainerStatus{PodIP: "10.0.0.9", Image: "nginx"})
	for _, viaJSON := range []bool{false, true} {
		if got := roundTrip(t, p, p, viaJSON); !same(got, p, viaJSON) {
			t.Fatalf("json %v: pod differs:\n in: %s\nout: %s", viaJSON, asJSON(p), asJSON(got))
		}
	}
	s := normalize(gen{rand.New(rand.NewPCG(8, 8))}.service()).(*api.Service)
	s.ProxyPort = 4321
	if got := roundTrip(t, s, s, true); !same(got, s, true) {
		t.Fatalf("service differs:\n in: %+v\nout: %+v", s, got)
	}
}

// TestFromV1 covers v1 forms kubelite maps or refuses.
func TestFromV1(t *testing.T) {
	two := int32(2)
	cases := []struct {
		name string
		in   runtime.Object
		want func(api.Object) string // "" when fine
		err  string
	}{
		{
			name: "command and args make one command",
			in: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "busybox", Command: []string{"sh", "-c"}, Args: []string{"echo hi"},
			}}}},
			want: func(o api.Object) string {
				got := o.(*api.Pod).DesiredState.Manifest.Containers[0].Command
				if !reflect.DeepEqual(got, []string{"sh", "-c", "echo hi"}) {
					return fmt.Sprintf("command %q", got)
				}
				return ""
			},
		},
		{
			name: "cpu limit is a quota, request is shares",
			in: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "a", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}},
				{Name: "b", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
			}}},
			want: func(o api.Object) string {
				cs := o.(*api.Pod).DesiredState.Manifest.Containers
				if cs[0].CPU != 500 || !cs[0].CPUQuota || cs[0].Memory != 64<<20 || cs[1].CPU != 1000 || cs[1].CPUQuota {
					return fmt.Sprintf("%+v", cs)
				}
				return ""
			},
		},
		{
			name: "rc selector defaults to the template's labels",
			in: &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Replicas: &two, Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "fe"}},
			}}},
			want: func(o api.Object) string {
				ds := o.(*api.ReplicationController).DesiredState
				if ds.Replicas != 2 || ds.ReplicaSelector["app"] != "fe" || ds.PodTemplate.Labels["app"] != "fe" {
					return fmt.Sprintf("%+v", ds)
				}
				return ""
			},
		},
		{
			name: "rc without replicas has one",
			in: &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}},
			}}},
			want: func(o api.Object) string {
				rc := o.(*api.ReplicationController)
				if rc.DesiredState.Replicas != 1 || rc.DesiredState.PodTemplate.NodeSelector["disk"] != "ssd" {
					return fmt.Sprintf("%+v", rc.DesiredState)
				}
				return ""
			},
		},
		{name: "two service ports", in: &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 1}, {Port: 2}}}}, err: "spec.ports"},
		{name: "node port", in: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 1}}}}, err: "spec.type"},
		{name: "headless", in: &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 1}}}}, err: "spec.clusterIP"},
		{name: "env valueFrom", in: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{}}}}}}}, err: "spec.containers[0].env[0].valueFrom"},
		{name: "secret volume", in: &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}}}}}, err: "spec.volumes[0]"},
		{name: "bad resourceVersion", in: &corev1.Pod{ObjectMeta: metaWithRV("x1")}, err: "metadata.resourceVersion"},
		{name: "bad restart policy", in: &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: "Sometimes"}}, err: "spec.restartPolicy"},
		{
			name: "endpoints: every address with every port",
			in: &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
				Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 81}},
			}}},
			want: func(o api.Object) string {
				got := o.(*api.Endpoints).Endpoints
				if !reflect.DeepEqual(got, []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:81", "10.0.0.2:81"}) {
					return fmt.Sprintf("%q", got)
				}
				return ""
			},
		},
		{
			name: "service target port by name",
			in:   &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}},
			want: func(o api.Object) string {
				if s := o.(*api.Service); s.ContainerPort.StrVal != "http" || s.Port != 80 {
					return fmt.Sprintf("%+v", s)
				}
				return ""
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var k *kind
			for _, kk := range kinds {
				if reflect.TypeOf(kk.newV1()) == reflect.TypeOf(c.in) {
					k = kk
				}
			}
			got, err := k.fromV1(c.in, nil)
			if c.err != "" {
				if err == nil || !api.IsInvalid(err) || !strings.Contains(fmt.Sprint(api.StatusOf(err).Details), c.err) {
					t.Fatalf("err %v (%+v), want Invalid naming %s", err, api.StatusOf(err).Details, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := c.want(got); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func metaWithRV(rv string) metav1.ObjectMeta { return metav1.ObjectMeta{ResourceVersion: rv} }

// same compares objects exactly, or, after the wire, as the wire can tell
// them apart (times in any location, nil and empty maps alike).
func same(a, b api.Object, viaJSON bool) bool {
	if !viaJSON {
		return reflect.DeepEqual(a, b)
	}
	return asJSON(a) == asJSON(b)
}

func asJSON(o api.Object) string {
	b, err := json.Marshal(o)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
