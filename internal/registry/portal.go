package registry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

// portals allocates service portal IPs from an IPv4 network. Not safe for
// concurrent use.
type portals struct {
	cidr  *net.IPNet
	first uint32 // first usable address (network + 1)
	size  uint32 // usable addresses (network and broadcast excluded)
	used  map[uint32]bool
	rand  func(n uint32) uint32
}

var errPortalsFull = errors.New("no portal IP left")

func newPortals(cidr *net.IPNet, rand func(n uint32) uint32) (*portals, error) {
	ip4 := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip4 == nil || bits != 32 {
		return nil, fmt.Errorf("portal net %s: want an IPv4 network", cidr)
	}
	if ones > 30 {
		return nil, fmt.Errorf("portal net %s: want at most /30", cidr)
	}
	network := binary.BigEndian.Uint32(ip4.Mask(cidr.Mask))
	total := uint64(1) << (32 - ones)
	return &portals{
		cidr:  &net.IPNet{IP: ip4.Mask(cidr.Mask), Mask: cidr.Mask},
		first: network + 1,
		size:  uint32(total - 2),
		used:  map[uint32]bool{},
		rand:  rand,
	}, nil
}

func (p *portals) offset(ip net.IP) (uint32, bool) {
	ip4 := ip.To4()
	if ip4 == nil || !p.cidr.Contains(ip4) {
		return 0, false
	}
	v := binary.BigEndian.Uint32(ip4)
	if v < p.first || v-p.first >= p.size {
		return 0, false // network or broadcast address
	}
	return v - p.first, true
}

func (p *portals) ip(off uint32) net.IP {
	b := make(net.IP, 4)
	binary.BigEndian.PutUint32(b, p.first+off)
	return b
}

// Allocate returns a random free address.
func (p *portals) Allocate() (net.IP, error) {
	if uint32(len(p.used)) >= p.size {
		return nil, errPortalsFull
	}
	start := p.rand(p.size)
	for i := uint32(0); i < p.size; i++ {
		off := (start + i) % p.size
		if !p.used[off] {
			p.used[off] = true
			return p.ip(off), nil
		}
	}
	return nil, errPortalsFull
}

// AllocateSpecific takes ip if it is a usable address of the network and free.
func (p *portals) AllocateSpecific(ip net.IP) error {
	off, ok := p.offset(ip)
	if !ok {
		return fmt.Errorf("%s is not a usable address of the portal network %s", ip, p.cidr)
	}
	if p.used[off] {
		return fmt.Errorf("%s is already allocated to another service", ip)
	}
	p.used[off] = true
	return nil
}

// Release frees ip; addresses outside the network are ignored.
func (p *portals) Release(ip net.IP) {
	if off, ok := p.offset(ip); ok {
		delete(p.used, off)
	}
}

// Used returns how many addresses are allocated.
func (p *portals) Used() int { return len(p.used) }
