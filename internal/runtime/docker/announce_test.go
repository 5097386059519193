package docker

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

func TestGarpFrame(t *testing.T) {
	mac, _ := net.ParseMAC("02:42:0a:f4:01:05")
	cases := []struct {
		name    string
		mac     net.HardwareAddr
		ip      netip.Addr
		want    string // hex of the frame
		wantErr string
	}{
		{"a pod's address", mac, netip.MustParseAddr("10.244.1.5"),
			"ffffffffffff" + "02420af40105" + "0806" + // broadcast from the pod, ARP
				"0001" + "0800" + "06" + "04" + "0001" + // Ethernet, IPv4, a request
				"02420af40105" + "0af40105" + "000000000000" + "0af40105", ""}, // the sender's and the target's address alike
		{"IPv6", mac, netip.MustParseAddr("fd00::5"), "", "not IPv4"},
		{"no MAC", nil, netip.MustParseAddr("10.244.1.5"), "", "not Ethernet's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := garpFrame(tc.mac, tc.ip)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(f); got != tc.want {
				t.Errorf("frame\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

// bridgePortMsg is one message of a bridge port dump: link index with
// state (none: no IFLA_PROTINFO).
func bridgePortMsg(index int, state ...byte) []byte {
	info := nl.NewIfInfomsg(unix.AF_BRIDGE)
	info.Index = int32(index)
	b := info.Serialize()
	b = append(b, nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(1500)).Serialize()...)
	if len(state) > 0 {
		pi := nl.NewRtAttr(unix.IFLA_PROTINFO|unix.NLA_F_NESTED, nil)
		pi.AddRtAttr(nl.IFLA_BRPORT_MODE, []byte{0})
		pi.AddRtAttr(nl.IFLA_BRPORT_STATE, state)
		b = append(b, pi.Serialize()...)
	}
	return b
}

func TestPortState(t *testing.T) {
	dump := [][]byte{bridgePortMsg(4, 0), bridgePortMsg(7, brStateForwarding), bridgePortMsg(9)}
	cases := []struct {
		index   int
		want    uint8
		wantErr string
	}{
		{4, 0, ""},
		{7, brStateForwarding, ""},
		{9, 0, "no state"},
		{12, 0, "no bridge port"},
	}
	for _, tc := range cases {
		got, err := portState(dump, tc.index)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("link %d: err %v, want one saying %q", tc.index, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("link %d: %d, %v; want %d", tc.index, got, err, tc.want)
		}
	}
	if _, err := portState([][]byte{{1, 2}}, 4); err == nil {
		t.Error("a short message: no error")
	}
}

// TestAnnounceFailedWarnsOnce: the first failed announcement is a warning,
// the ones after it debug lines, each with its veth and error.
func TestAnnounceFailedWarnsOnce(t *testing.T) {
	logger := logrus.StandardLogger()
	level := logger.GetLevel()
	hook := logtest.NewLocal(logger)
	announceWarned.Store(false)
	logger.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() {
		logger.SetLevel(level)
		logger.ReplaceHooks(make(logrus.LevelHooks))
		announceWarned.Store(false)
	})
	for _, veth := range []string{"klpa", "klpb", "klpc"} {
		announceFailed(veth, errors.New("packet socket: operation not permitted"))
	}
	var got []string
	for _, e := range hook.AllEntries() {
		got = append(got, fmt.Sprintf("%s %s %v", e.Level, e.Data["veth"], e.Data[logrus.ErrorKey]))
	}
	want := []string{
		"warning klpa packet socket: operation not permitted",
		"debug klpb packet socket: operation not permitted",
		"debug klpc packet socket: operation not permitted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
