package podnet

import (
	"net/netip"

	"kubelite/internal/api"
)

// FromAPI turns the API's minions into podnet's. A minion without hostIP
// whose id is an IP address (v0.6 minions are often named by address) uses
// that. Addresses or subnets that do not parse are left zero, so MakePlan
// names the minion in its problems instead of routing to it.
func FromAPI(minions []api.Minion) []Minion {
	out := make([]Minion, 0, len(minions))
	for _, m := range minions {
		pm := Minion{Name: m.ID}
		host := m.HostIP
		if host == "" {
			host = m.ID
		}
		if a, err := netip.ParseAddr(host); err == nil {
			pm.HostIP = a
		}
		if p, err := netip.ParsePrefix(m.PodCIDR); err == nil {
			pm.PodCIDR = p
		}
		out = append(out, pm)
	}
	return out
}
