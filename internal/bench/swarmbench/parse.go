package swarmbench

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ServicePSFormat is the --format of `docker service ps` that ParseServicePS reads.
const ServicePSFormat = "{{.ID}}\t{{.Name}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}"

// Task is one line of `docker service ps --format ServicePSFormat`.
type Task struct {
	ID, Name, Node string
	Desired        string // Running, Shutdown, ...
	State          string // the first word of CurrentState: Running, Preparing, ...
	Error          string
}

// ParseServicePS parses the output of `docker service ps --no-trunc --format
// ServicePSFormat`. Blank lines are skipped; a line with fewer than five
// fields is an error.
func ParseServicePS(out []byte) ([]Task, error) {
	var tasks []Task
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			return nil, fmt.Errorf("docker service ps line %d: %d fields, want 6: %q", n, len(f), line)
		}
		t := Task{ID: f[0], Name: f[1], Node: f[2], Desired: f[3]}
		if st := strings.Fields(f[4]); len(st) > 0 {
			t.State = st[0]
		}
		if len(f) > 5 {
			t.Error = strings.Join(f[5:], "\t")
		}
		tasks = append(tasks, t)
	}
	return tasks, sc.Err()
}

// TaskSummary counts the tasks meant to run by their current state, e.g.
// "48 Running, 2 Preparing", then the distinct errors: what a timeout
// reports about Swarm.
func TaskSummary(tasks []Task) string {
	counts := map[string]int{}
	errs := map[string]bool{}
	for _, t := range tasks {
		if t.Desired != "Running" {
			continue
		}
		counts[t.State]++
		if t.Error != "" {
			errs[t.Error] = true
		}
	}
	states := make([]string, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	sort.Slice(states, func(i, j int) bool {
		if counts[states[i]] != counts[states[j]] {
			return counts[states[i]] > counts[states[j]]
		}
		return states[i] < states[j]
	})
	parts := make([]string, 0, len(states)+len(errs))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	el := make([]string, 0, len(errs))
	for e := range errs {
		el = append(el, e)
	}
	sort.Strings(el)
	for _, e := range el {
		parts = append(parts, "error: "+e)
	}
	if len(parts) == 0 {
		return "no tasks"
	}
	return strings.Join(parts, ", ")
}

// Running counts the tasks desired and currently Running.
func Running(tasks []Task) int {
	n := 0
	for _, t := range tasks {
		if t.Desired == "Running" && t.State == "Running" {
			n++
		}
	}
	return n
}

// container is the part of an Engine API /containers/json entry we read.
type container struct {
	ID              string            `json:"Id"`
	State           string            `json:"State"`
	Labels          map[string]string `json:"Labels"`
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string `json:"IPAddress"`
		} `json:"Networks"`
	} `json:"NetworkSettings"`
}

// ip is the container's first address on any network (sorted by network
// name, so the choice is stable), or "".
func (c container) ip() string {
	names := make([]string, 0, len(c.NetworkSettings.Networks))
	for n := range c.NetworkSettings.Networks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if a := c.NetworkSettings.Networks[n].IPAddress; a != "" {
			return a
		}
	}
	return ""
}

// podIP is the address of a kubelite container holding its pod's network:
// the engine's, else the kubePodIP label (the kubelet's runtime attached it).
func (c container) podIP() string {
	if ip := c.ip(); ip != "" {
		return ip
	}
	return c.Labels[kubePodIP]
}

// Replica is one running copy of the workload as an engine shows it.
type Replica struct {
	ID string // Swarm: the task's container; kubelite: the pod's UID
	IP string
}

// Labels Swarm and kubelite put on the containers they make.
const (
	swarmServiceLabel = "com.docker.swarm.service.name"
	kubePodUID        = "io.kubelite.pod.uid"
	kubeContainerName = "io.kubelite.container.name"
	kubeInfraName     = "POD" // kubelet.InfraName
	// kubePodIP is the infra container's address when the kubelet's runtime
	// attached it itself (network mode none: the engine knows no address).
	kubePodIP = "io.kubelite.pod.ip" // docker.LabelPodIP
	// kubeOwnNetwork marks the app container of a pod without an infra
	// container: it holds the pod's address itself.
	kubeOwnNetwork = "io.kubelite.pod.own-network" // kubelet.LabelOwnNetwork
)

// swarmReplicas are the running containers of Swarm service svc that have an
// address.
func swarmReplicas(cs []container, svc string) []Replica {
	var out []Replica
	for _, c := range cs {
		if c.State != "running" || c.Labels[swarmServiceLabel] != svc {
			continue
		}
		if ip := c.ip(); ip != "" {
			out = append(out, Replica{ID: c.ID, IP: ip})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// kubeliteReplicas are the pods whose app container (named app) runs, at
// the address of their running infra container, or of the app itself when
// it holds the pod's network (the engine's address, else the kubePodIP
// label).
func kubeliteReplicas(cs []container, app string) []Replica {
	appUp := map[string]bool{}
	ips := map[string]string{}
	for _, c := range cs {
		uid := c.Labels[kubePodUID]
		if c.State != "running" || uid == "" {
			continue
		}
		switch name := c.Labels[kubeContainerName]; {
		case name == app && c.Labels[kubeOwnNetwork] == "true":
			appUp[uid] = true // a solo pod: the app holds the address
			ips[uid] = c.podIP()
		case name == app:
			appUp[uid] = true
		case name == kubeInfraName:
			ips[uid] = c.podIP()
		}
	}
	var out []Replica
	for uid := range appUp {
		if ip := ips[uid]; ip != "" {
			out = append(out, Replica{ID: uid, IP: ip})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ParseVmRSS returns the resident set size in bytes from the text of
// /proc/PID/status.
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "VmRSS" {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS: unexpected %q", strings.TrimSpace(v))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line (a kernel thread or a zombie)")
}
