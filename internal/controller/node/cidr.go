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

// Next returns the lowest /24 not in used, or false when all are taken.
func (s *Subnets) Next(used map[string]bool) (string, bool) {
	for i := 0; i < s.n; i++ {
		if c := s.Subnet(i); !used[c] {
			return c, true
		}
	}
	return "", false
}
