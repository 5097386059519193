package podnet

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPortsWithoutHairpin(t *testing.T) {
	cases := []struct {
		name string
		out  string
		want []string
	}{
		{"none", "", nil},
		{"empty list", "[]", nil},
		{"mixed", `[{"ifname":"veth1","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"hairpin":false}}},
			{"ifname":"veth2","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"hairpin":true}}},
			{"ifname":"veth3","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{}}}]`, []string{"veth1", "veth3"}},
		{"not a bridge port", `[{"ifname":"bond0","linkinfo":{"info_slave_kind":"bond"}}]`, nil},
	}
	for _, tc := range cases {
		got, err := PortsWithoutHairpin([]byte(tc.out))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := PortsWithoutHairpin([]byte("{not json")); err == nil {
		t.Error("bad output: want an error")
	}
}

func TestIPHairpinEnsure(t *testing.T) {
	var ran []string
	h := IPHairpin{Run: func(ctx context.Context, argv ...string) ([]byte, error) {
		ran = append(ran, strings.Join(argv, " "))
		if argv[1] == "-j" {
			if argv[len(argv)-1] == "missing" {
				return nil, errors.New(`ip ...: exit status 255: Error: argument "missing" is wrong: Device does not exist`)
			}
			return []byte(`[{"ifname":"vethA","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"hairpin":false}}},
				{"ifname":"vethB","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"hairpin":true}}}]`), nil
		}
		return nil, nil
	}}
	changed, err := h.Ensure(context.Background(), "kl-pods")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(changed, []string{"vethA"}) {
		t.Fatalf("changed %v, want [vethA]", changed)
	}
	want := []string{"ip -j -d link show master kl-pods", "ip link set dev vethA type bridge_slave hairpin on"}
	if !reflect.DeepEqual(ran, want) {
		t.Fatalf("ran %q, want %q", ran, want)
	}
	if changed, err := h.Ensure(context.Background(), "missing"); err != nil || changed != nil {
		t.Fatalf("missing bridge: %v %v, want nothing", changed, err)
	}
}
