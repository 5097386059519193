package swarmbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kubelite/internal/api"
	"kubelite/internal/lab"
	"kubelite/internal/store"
)

// system is one orchestrator under test: the commands a user would type,
// and the replicas the engines show.
type system interface {
	name() string
	create(ctx context.Context, n int) error
	scale(ctx context.Context, n int) error
	// remove removes the workload; the caller waits for its replicas to go.
	remove(ctx context.Context) error
	replicas(ctx context.Context, h *lab.Host) ([]Replica, error)
	// diag says what the orchestrator thinks, for a timeout's error.
	diag(ctx context.Context) string
}

const workload = "web" // the service's / RC's name, and the app container's

// swarmSystem drives Docker Swarm through the manager's CLI.
type swarmSystem struct {
	w       *world
	network string // the tasks' network; "": each engine's default bridge
}

func (s swarmSystem) name() string { return "swarm" }

func (s swarmSystem) docker(ctx context.Context, args ...string) error {
	_, err := s.w.l.Docker(ctx, s.w.m1(), args...)
	return err
}

// create: --endpoint-mode dnsrr, since a VIP needs IPVS (see Result.Notes);
// no network: tasks join each engine's default bridge, as kubelite's pods
// join the engine's pod bridge.
func (s swarmSystem) create(ctx context.Context, n int) error {
	args := []string{"service", "create", "--detach", "--quiet", "--name", workload,
		"--replicas", strconv.Itoa(n), "--endpoint-mode", "dnsrr"}
	if s.network != "" {
		args = append(args, "--network", s.network)
	}
	return s.docker(ctx, append(args, s.w.image)...)
}

func (s swarmSystem) scale(ctx context.Context, n int) error {
	return s.docker(ctx, "service", "scale", "--detach", workload+"="+strconv.Itoa(n))
}

func (s swarmSystem) remove(ctx context.Context) error {
	return s.docker(ctx, "service", "rm", workload)
}

func (s swarmSystem) replicas(ctx context.Context, h *lab.Host) ([]Replica, error) {
	cs, err := s.w.engines[h.Name].containers(ctx, swarmServiceLabel+"="+workload)
	if err != nil {
		return nil, err
	}
	return swarmReplicas(cs, workload), nil
}

func (s swarmSystem) diag(ctx context.Context) string {
	out, err := s.w.l.Docker(ctx, s.w.m1(), "service", "ps", "--no-trunc", "--format", ServicePSFormat, workload)
	if err != nil {
		return "docker service ps: " + err.Error()
	}
	tasks, err := ParseServicePS(out)
	if err != nil {
		return err.Error()
	}
	return "swarm tasks: " + TaskSummary(tasks)
}

// kubeSystem drives kubelite through its kubectl.
type kubeSystem struct{ w *world }

func (k kubeSystem) name() string { return "kubelite" }

// rcJSON is the replication controller of n replicas of the registry's web
// server image.
func rcJSON(image string, n int) ([]byte, error) {
	labels := map[string]string{"name": workload}
	rc := api.ReplicationController{
		TypeMeta: api.TypeMeta{Kind: "ReplicationController", APIVersion: "v1beta1", ID: workload, Labels: labels},
		DesiredState: api.ReplicationControllerState{Replicas: n, ReplicaSelector: labels,
			PodTemplate: api.PodTemplate{Labels: labels, DesiredState: api.PodState{Manifest: api.ContainerManifest{
				Version: "v1beta1", ID: workload,
				Containers: []api.Container{{Name: workload, Image: image, Ports: []api.Port{{ContainerPort: 80}}}},
			}}}},
	}
	return json.Marshal(rc)
}

func (k kubeSystem) create(ctx context.Context, n int) error {
	b, err := rcJSON(k.w.image, n)
	if err != nil {
		return err
	}
	return k.w.kube.kubectl(ctx, bytes.NewReader(b), "create", "-f", "-")
}

func (k kubeSystem) scale(ctx context.Context, n int) error {
	return k.w.kube.kubectl(ctx, nil, "resize", workload, strconv.Itoa(n))
}

// remove resizes to 0, then deletes the RC (v1beta1 deletes never cascade);
// the pods go as the kubelets stop them.
func (k kubeSystem) remove(ctx context.Context) error {
	if err := k.w.kube.kubectl(ctx, nil, "resize", workload, "0"); err != nil {
		return err
	}
	err := poll(ctx, 2*timeoutUnit, pollEvery, func() (bool, string) {
		pods, _, err := k.w.kube.st.List(ctx, api.Pods, store.ListOptions{Labels: api.SelectorFromSet(map[string]string{"name": workload})})
		if err != nil {
			return false, err.Error()
		}
		return len(pods) == 0, fmt.Sprintf("%d pods left", len(pods))
	})
	if err != nil {
		return fmt.Errorf("resize %s 0: %w", workload, err)
	}
	return k.w.kube.kubectl(ctx, nil, "delete", "replicationControllers", workload)
}

func (k kubeSystem) replicas(ctx context.Context, h *lab.Host) ([]Replica, error) {
	cs, err := k.w.engines[h.Name].containers(ctx, "io.kubelite.managed=true")
	if err != nil {
		return nil, err
	}
	return kubeliteReplicas(cs, workload), nil
}

func (k kubeSystem) diag(ctx context.Context) string {
	pods, _, err := k.w.kube.st.List(ctx, api.Pods, store.ListOptions{Labels: api.SelectorFromSet(map[string]string{"name": workload})})
	if err != nil {
		return "list pods: " + err.Error()
	}
	counts := map[string]int{}
	for _, o := range pods {
		p := o.(*api.Pod)
		counts[fmt.Sprintf("%s on %q", p.CurrentState.Phase, p.DesiredState.Host)]++
	}
	var parts []string
	for s, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, s))
	}
	sort.Strings(parts)
	return "kubelite pods: " + strings.Join(parts, ", ")
}
