package podnet

import (
	"reflect"
	"testing"

	"kubelite/internal/api"
)

func TestFromAPI(t *testing.T) {
	in := []api.Minion{
		{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "198.18.0.11", PodCIDR: "10.244.1.0/24"},
		{TypeMeta: api.TypeMeta{ID: "198.18.0.12"}, PodCIDR: "10.244.2.0/24"},
		{TypeMeta: api.TypeMeta{ID: "m3"}, HostIP: "not-an-ip", PodCIDR: "bogus"},
		{TypeMeta: api.TypeMeta{ID: "m4"}},
	}
	want := []Minion{
		minion("m1", "198.18.0.11", "10.244.1.0/24"),
		minion("198.18.0.12", "198.18.0.12", "10.244.2.0/24"),
		minion("m3", "", ""),
		minion("m4", "", ""),
	}
	if got := FromAPI(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	p := MakePlan(self, FromAPI(in))
	if len(p.Routes) != 1 || len(p.Problems) != 2 {
		t.Errorf("plan from API minions: %+v", p)
	}
}
