package kubelet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// minionObject is the Minion this kubelet registers.
func (k *Kubelet) minionObject() *api.Minion {
	return &api.Minion{
		TypeMeta:    api.TypeMeta{ID: k.cfg.NodeName, Labels: cloneMap(k.cfg.Labels)},
		HostIP:      k.cfg.HostIP,
		Resources:   api.NodeResources{Capacity: k.cfg.Capacity},
		KubeletPort: k.cfg.Port,
		Status:      api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: k.cfg.Clock.Now().UTC()},
	}
}

// heartbeat registers the minion or refreshes its heartbeat, keeping what
// the master set (unschedulable, pod CIDR). last is the minion as this
// kubelet's previous heartbeat wrote it (nil: none yet): the refresh is then
// a compare-and-swap on that version without reading the minion first (one
// request instead of two, at 5,000 minions 500 reads a second spared); when
// the master changed the minion since, that write conflicts and the minion
// is read again. It returns the minion as written.
func (k *Kubelet) heartbeat(ctx context.Context, last *api.Minion) (*api.Minion, error) {
	want := k.minionObject()
	for try := 0; try < 5; try++ {
		var m *api.Minion
		if last != nil {
			m, last = api.Copy(last), nil
		} else {
			o, err := k.cfg.Store.Get(ctx, api.Minions, "", k.cfg.NodeName)
			if api.IsNotFound(err) {
				out, err := k.cfg.Store.Create(ctx, want)
				if err != nil {
					if api.IsAlreadyExists(err) {
						continue
					}
					return nil, fmt.Errorf("register minion %s: %w", k.cfg.NodeName, err)
				}
				k.log.WithField("hostIP", want.HostIP).Info("minion registered")
				written, _ := out.(*api.Minion)
				return written, nil
			}
			if err != nil {
				return nil, fmt.Errorf("heartbeat %s: %w", k.cfg.NodeName, err)
			}
			var ok bool
			if m, ok = o.(*api.Minion); !ok {
				return nil, fmt.Errorf("heartbeat %s: stored object is %T", k.cfg.NodeName, o)
			}
		}
		m.HostIP = want.HostIP
		m.Resources = want.Resources
		m.KubeletPort = want.KubeletPort
		if want.Labels != nil {
			m.Labels = want.Labels
		}
		if m.Status.Condition != api.MinionReady {
			m.Status.NotReadySince = time.Time{}
			m.Status.Reason = ""
		}
		m.Status.Condition = api.MinionReady
		m.Status.LastHeartbeat = want.Status.LastHeartbeat
		out, err := k.cfg.Store.Update(ctx, m)
		if err != nil {
			if api.IsConflict(err) || api.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("heartbeat %s: %w", k.cfg.NodeName, err)
		}
		written, _ := out.(*api.Minion)
		return written, nil
	}
	return nil, fmt.Errorf("heartbeat %s: too many conflicts", k.cfg.NodeName)
}

// heartbeatRetry is the first wait after a failed heartbeat; each failure
// in a row doubles it, up to the heartbeat interval.
const heartbeatRetry = 200 * time.Millisecond

// heartbeatDelay is the wait before the next heartbeat after failures
// failed ones in a row (0: the last one landed). After a success it is the
// interval plus up to a tenth of it; after a failure a retry soon:
// heartbeatRetry doubling with each failure up to the interval, plus up to
// half of it, so a fleet refused by a busy master at once does not retry
// in step (never more than the interval plus a tenth). A master marks a
// minion NotReady after 15 s (its default grace period) without a
// heartbeat: with a whole interval (5 s) after each failure, two refused
// heartbeats in a row would be enough.
// jitter(n) returns a number in [0, n).
func heartbeatDelay(interval time.Duration, failures int, jitter func(n int64) int64) time.Duration {
	longest := interval + interval/10
	if failures <= 0 {
		return interval + time.Duration(jitter(int64(interval/10)+1))
	}
	base := heartbeatRetry
	for i := 1; i < failures && base < interval; i++ {
		base *= 2
	}
	base = min(base, interval)
	return min(longest, base+time.Duration(jitter(int64(base/2)+1)))
}

// heartbeatDeadline bounds one heartbeat (its lease renewal, or its
// read and write of the minion): twice the interval, at least a second. At
// the defaults (5 s, a 15 s grace) a first try that hangs is given up at
// 10 s and the retry, 200 ms later, still lands within the grace.
func heartbeatDeadline(interval time.Duration) time.Duration {
	return max(time.Second, 2*interval)
}

func (k *Kubelet) heartbeatLoop(ctx context.Context) {
	rep := logging.NewRepeater(logging.RepeaterConfig{Log: k.log, Clock: k.cfg.Clock,
		What: "heartbeat to the master", Hint: "is the master up and reachable from this host? kubelite doctor minion"})
	writeRep := logging.NewRepeater(logging.RepeaterConfig{Log: k.log, Clock: k.cfg.Clock,
		What: "write of this minion (its heartbeats are renewed all the same)", Hint: "kubelite doctor minion"})
	hb, leased := k.cfg.Store.(store.Heartbeater)
	var last *api.Minion
	var rewrite time.Time // when the minion is written again, with leased heartbeats
	failures := 0
	for {
		var err error
		now := k.cfg.Clock.Now()
		// A heartbeat that has not landed within heartbeatDeadline is
		// given up and tried again soon, on another connection, instead
		// of waiting out the client's 30 s timeout past the master's
		// grace period (15 s) on one that may be dead.
		actx, cancel := context.WithTimeout(ctx, heartbeatDeadline(k.cfg.HeartbeatInterval))
		// Registered with a master that records heartbeats: the heartbeat
		// is the lease's renewal, first, whatever else is due. A write of
		// the minion due as well comes after it, and its failure (a busy
		// master refuses writes before heartbeats) leaves the lease
		// renewed: the write is tried again at the next heartbeat.
		renewed := false
		if leased && last != nil {
			err = hb.Heartbeat(actx, k.cfg.NodeName)
			switch {
			case err == nil:
				renewed = true
			case errors.Is(err, store.ErrNoHeartbeats):
				k.log.Info("the master records no heartbeats apart from the minion: writing the minion at every heartbeat")
				leased, err = false, nil
			case api.IsNotFound(err): // deleted: register again
				last, err = nil, nil
			}
		}
		due := !leased || last == nil || minionDiffers(last, k.minionObject()) || !now.Before(rewrite)
		if err == nil && due {
			written, werr := k.heartbeat(actx, last)
			switch {
			case werr == nil:
				last, rewrite = written, now.Add(minionRewrite(k.cfg.MinionRefresh, rand.Int64N))
				writeRep.OK()
			case renewed:
				writeRep.Fail(werr) // last kept: the lease is renewed with it
			default:
				last, err = nil, werr
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			rep.Fail(err)
		} else {
			failures = 0
			rep.OK()
		}
		select {
		case <-ctx.Done():
			return
		case <-k.cfg.Clock.After(heartbeatDelay(k.cfg.HeartbeatInterval, failures, rand.Int64N)):
		}
	}
}

// minionDiffers reports whether the minion last written differs from what
// this kubelet would register (want) in what the kubelet owns, or is not
// Ready: then a heartbeat must write it, not only renew its lease.
func minionDiffers(last, want *api.Minion) bool {
	return last.HostIP != want.HostIP || last.KubeletPort != want.KubeletPort ||
		last.Resources.Capacity != want.Resources.Capacity ||
		(want.Labels != nil && !maps.Equal(last.Labels, want.Labels)) ||
		last.Status.Condition != api.MinionReady
}

// minionRewrite is how long after writing its minion a kubelet whose
// heartbeats are leased writes it again (its LastHeartbeat, for readers):
// refresh plus up to a fifth of it at random, so that minions registered
// together do not all write at once. jitter(n) returns a number in [0, n).
func minionRewrite(refresh time.Duration, jitter func(n int64) int64) time.Duration {
	return refresh + time.Duration(jitter(int64(refresh/5)+1))
}

// DetectHostIP picks the minion's address: hostnameOverride when it is an IP
// (as in the tutorial), else hostIP, else the local address of the
// interface that routes to master (host:port).
func DetectHostIP(hostnameOverride, hostIP, master string) (string, error) {
	if ip := net.ParseIP(hostnameOverride); ip != nil {
		return ip.String(), nil
	}
	if hostIP != "" {
		ip := net.ParseIP(hostIP)
		if ip == nil {
			return "", fmt.Errorf("--host-ip %q is not an IP address", hostIP)
		}
		return ip.String(), nil
	}
	if master == "" {
		master = "127.0.0.1:8080"
	}
	if !strings.Contains(master, ":") {
		master += ":8080"
	}
	master = strings.TrimPrefix(strings.TrimPrefix(master, "http://"), "https://")
	// A UDP "connection" sends nothing; it only asks the kernel for a route.
	c, err := net.Dial("udp", master)
	if err != nil {
		return "", fmt.Errorf("find the address routing to %s: %w", master, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// MachineCapacity is this machine's capacity: cpu = cores x 1000 millicores,
// memory from /proc/meminfo.
func MachineCapacity() (api.Capacity, error) {
	c := api.Capacity{CPU: int64(goruntime.NumCPU()) * 1000}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return c, fmt.Errorf("machine memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return c, fmt.Errorf("machine memory: %w", err)
			}
			c.Memory = kb * 1024
			return c, nil
		}
	}
	return c, fmt.Errorf("machine memory: no MemTotal in /proc/meminfo")
}
