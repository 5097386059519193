package node

import (
	"fmt"
	"net/netip"
)

// Subnets hands out the /24 subnets of a cluster CIDR.
type Subnets struct {
	base netip.Prefix
	n    int
}

// ParseSubnets parses an IPv4 cluster CIDR of prefix length 24 or shorter.
func ParseSubnets(cidr string) (*Subnets, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("cluster cidr %q: %w", cidr, err)
	}
	if !p.Addr().Is4() || p.Bits() > 24 || p.Bits() < 8 {
		return nil, fmt.Errorf("cluster cidr %q: want an IPv4 prefix between /8 and /24", cidr)
	}
	return &Subnets{base: p.Masked(), n: 1 << (24 - p.Bits())}, nil
}

// Subnet returns the i-th /24.
func (s *Subnets) Subnet(i int) string {
	a := s.base.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8
	v += uint32(i) << 8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24).String()
}

// Index returns the position of cidr among the /24s, or false when cidr is
// not one of them.
func (s *Subnets) Index(cidr string) (int, bool) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Bits() != 24 || !p.Addr().Is4() || !s.base.Contains(p.Addr()) {
		return 0, false
	}
	a, b := p.Addr().As4(), s.base.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8
	w := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8
	return int((v - w) >> 8), true
}

// pool is the controller's account of which /24s are taken: each minion's
// podCIDR as last seen (or as the controller wrote it, until seen). Taking
// the lowest free one costs no walk over every minion: the cost that made
// registering 5,000 minions quadratic (every allocation listed them all and
// formatted every /24 below the first free one).
type pool struct {
	subnets *Subnets
	held    map[int]int    // subnet index -> minions holding it
	of      map[string]int // minion key -> its subnet index
	low     int            // no free subnet below this index
}

func newPool(s *Subnets) *pool {
	return &pool{subnets: s, held: map[int]int{}, of: map[string]int{}}
}

// set records that key holds cidr ("" or a CIDR outside the cluster's:
// none of ours), freeing what it held before.
func (p *pool) set(key, cidr string) {
	i, ok := p.subnets.Index(cidr)
	if old, had := p.of[key]; had {
		if ok && old == i {
			return
		}
		delete(p.of, key)
		if p.held[old]--; p.held[old] <= 0 {
			delete(p.held, old)
			p.low = min(p.low, old)
		}
	}
	if ok {
		p.of[key] = i
		p.held[i]++
	}
}

// take returns key's /24: the one it holds, else the lowest free one,
// recorded as key's; false when all are taken.
func (p *pool) take(key string) (string, bool) {
	if i, ok := p.of[key]; ok {
		return p.subnets.Subnet(i), true
	}
	for i := p.low; i < p.subnets.n; i++ {
		if p.held[i] == 0 {
			p.low = i + 1
			p.of[key] = i
			p.held[i] = 1
			return p.subnets.Subnet(i), true
		}
	}
	p.low = p.subnets.n
	return "", false
}
