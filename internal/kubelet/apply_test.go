package kubelet

import "testing"

func TestStopRun(t *testing.T) {
	stop := func(name string) Action { return Action{Kind: ActStop, Name: name, ID: name} }
	for _, c := range []struct {
		name string
		acts []Action
		want int
	}{
		{"none", nil, 0},
		{"not a stop first", []Action{{Kind: ActRemove, Name: "web"}, stop("db")}, 0},
		{"app stops together", []Action{stop("web"), stop("db"), {Kind: ActStartInfra, Name: InfraName}}, 2},
		{"apps before the infra", []Action{stop("web"), stop("db"), stop(InfraName), stop("log")}, 2},
		{"the infra alone", []Action{stop(InfraName), stop("web")}, 1},
		{"all", []Action{stop("web"), stop("db")}, 2},
	} {
		if got := stopRun(c.acts); got != c.want {
			t.Errorf("%s: stopRun = %d, want %d", c.name, got, c.want)
		}
	}
}
