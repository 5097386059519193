package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kubelite/internal/endpoint"
	"kubelite/internal/netfilter"
)

// OSProbe is the real Probe. API is the client of Get (nil: a plain
// client); doctor sends no credential, so a TLS API is checked for what it
// answers anyone (/healthz) and its certificate is not verified unless the
// client's TLS configuration says so.
type OSProbe struct {
	API *http.Client
}

var _ Probe = OSProbe{}

// DockerVersion GETs /version from the engine's socket (plain HTTP: only
// internal/runtime/docker uses the Docker client).
func (OSProbe) DockerVersion(ctx context.Context, endpoint string) (string, string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "unix" || u.Path == "" {
		return "", "", fmt.Errorf("doctor checks unix:// endpoints only, got %q", endpoint)
	}
	if _, err := os.Stat(u.Path); err != nil {
		return "", "", fmt.Errorf("socket %s: %w", u.Path, err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", u.Path)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/version", nil)
	if err != nil {
		return "", "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GET /version: %s", resp.Status)
	}
	var v struct{ Version, APIVersion string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return "", "", fmt.Errorf("decode /version: %w", err)
	}
	return v.Version, v.APIVersion, nil
}

// IPTables reads the filter table through internal/netfilter.
func (OSProbe) IPTables(ctx context.Context) error {
	nf, err := netfilter.New()
	if err != nil {
		return err
	}
	_, err = nf.Save(netfilter.TableFilter)
	return err
}

// Get fetches url.
func (o OSProbe) Get(ctx context.Context, u string) (int, time.Time, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, time.Time{}, nil, err
	}
	hc := o.API
	if hc == nil {
		hc = &http.Client{Transport: endpoint.Endpoint{TLS: &tls.Config{InsecureSkipVerify: true}}.NewTransport(), Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, time.Time{}, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	return resp.StatusCode, date, body, err
}

// Dial opens a TCP connection to addr and closes it.
func (OSProbe) Dial(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Routes reads /proc/net/route.
func (OSProbe) Routes() ([]Route, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseProcRoute(f)
}

// Now is time.Now.
func (OSProbe) Now() time.Time { return time.Now() }

// ParseProcRoute parses the kernel's /proc/net/route table.
func ParseProcRoute(r io.Reader) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue // header
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := hexAddr(f[1])
		gw, err2 := hexAddr(f[2])
		mask, err3 := hexAddr(f[7])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("parse route line %q", sc.Text())
		}
		bits := 0
		for _, b := range mask.As4() {
			for ; b != 0; b <<= 1 {
				bits++
			}
		}
		rt := Route{Dst: netip.PrefixFrom(dst, bits).Masked(), Dev: f[0]}
		if !gw.IsUnspecified() {
			rt.Gateway = gw
		}
		out = append(out, rt)
	}
	return out, sc.Err()
}

// hexAddr decodes the little-endian hex IPv4 address the kernel prints.
func hexAddr(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// Listen binds addr and closes it.
func (OSProbe) Listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// access(2) modes.
const (
	accessX = 0x1
	accessW = 0x2
)

// Writable checks write access to dir, or to its nearest existing parent.
func (OSProbe) Writable(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			if err := syscall.Access(d, accessW|accessX); err != nil {
				return fmt.Errorf("access %s: %w", d, err)
			}
			return nil
		}
		if d == filepath.Dir(d) {
			return fmt.Errorf("no existing parent of %s", dir)
		}
	}
}

// ReadFile reads path.
func (OSProbe) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// NATRules saves the nat table through internal/netfilter.
func (OSProbe) NATRules(ctx context.Context) (string, error) {
	nf, err := netfilter.New()
	if err != nil {
		return "", err
	}
	b, err := nf.Save(netfilter.TableNAT)
	return string(b), err
}
