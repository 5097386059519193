package roles

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// portUse is one address a role will listen on, and the flag that sets it.
type portUse struct {
	flag string
	addr string // host:port
}

// listenFunc is net.Listen; tests replace it.
type listenFunc func(network, addr string) (net.Listener, error)

// checkPorts fails, before anything starts, when one of the addresses is
// taken, naming the flag that moves it. It is a courtesy check: a port taken
// in between still fails the component that needs it.
func checkPorts(listen listenFunc, uses []portUse) error {
	for _, u := range uses {
		l, err := listen("tcp", u.addr)
		if err == nil {
			l.Close()
			continue
		}
		_, port, _ := net.SplitHostPort(u.addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %s (--%s) is already in use: stop what listens there (ss -ltnp 'sport = :%s') or pick another with --%s", port, u.flag, port, u.flag)
		}
		return fmt.Errorf("cannot listen on %s (--%s): %w", u.addr, u.flag, err)
	}
	return nil
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
