package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
)

// Listen opens the API's listener on the loopback interfaces only, the
// secrets being for processes in this sandbox, never for the network:
// 127.0.0.1, and ::1 on the same port where the host has IPv6 loopback,
// because clients that resolve "localhost" (Node 17 and later, for one) may
// try ::1 first. A host without IPv6 is no error; ::1 held by another
// process is, since a client of localhost could then reach that process.
// Port 0 picks a free port, the same for both.
func Listen(port int) (net.Listener, error) {
	v4, err := ListenIPv4(port)
	if err != nil {
		return nil, err
	}
	return AddIPv6(v4)
}

// ListenIPv4 is Listen's first half, 127.0.0.1 alone, and AddIPv6 its
// second: an extension opens the first before it registers and the second
// after, because until it has registered all it does delays the
// function's start. The gap is a fraction of a millisecond, and no handler
// can call before its runtime has started, which begins only once every
// extension has registered; most clients (Python's, Go's, Node 20's) would
// fall back to 127.0.0.1 even then.
func ListenIPv4(port int) (net.Listener, error) {
	v4, err := listenTCP("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return v4, nil
}

// AddIPv6 listens on ::1 at v4's port too, where the host has IPv6
// loopback, and returns one listener for both; on failure it closes v4.
func AddIPv6(v4 net.Listener) (net.Listener, error) {
	port := v4.Addr().(*net.TCPAddr).Port
	v6, err := listenTCP("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
	switch {
	case err == nil:
		return newMultiListener(v4, v6), nil
	case noIPv6Loopback(err):
		return v4, nil
	default:
		v4.Close()
		return nil, fmt.Errorf("listen on [::1]:%d: %w", port, err)
	}
}

// listenTCP listens with plain TCP. Go listens with Multipath TCP by
// default where the kernel offers it, which a loopback listener has no use
// for, and its first such listen probes the kernel with a socket of its
// own, before the extension registers.
func listenTCP(network, address string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), network, address)
}

// noIPv6Loopback reports whether a listen on ::1 failed because the host
// has no IPv6 loopback at all.
func noIPv6Loopback(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// multiListener accepts from several listeners as one, so that one server
// and one connection cap serve every loopback address.
type multiListener struct {
	lns      []net.Listener
	accepted chan accepted
	done     chan struct{}
	close    sync.Once
}

type accepted struct {
	conn net.Conn
	err  error
}

func newMultiListener(lns ...net.Listener) *multiListener {
	m := &multiListener{lns: lns, accepted: make(chan accepted), done: make(chan struct{})}
	for _, ln := range lns {
		go m.acceptFrom(ln)
	}
	return m
}

func (m *multiListener) acceptFrom(ln net.Listener) {
	for {
		c, err := ln.Accept()
		select {
		case m.accepted <- accepted{c, err}:
		case <-m.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return // closed, or broken for good: Serve stops on it
			}
		}
	}
}

func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case a := <-m.accepted:
		return a.conn, a.err
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *multiListener) Close() error {
	var errs []error
	m.close.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			errs = append(errs, ln.Close())
		}
	})
	return errors.Join(errs...)
}

// Addr is the IPv4 address, the one logged and documented.
func (m *multiListener) Addr() net.Addr { return m.lns[0].Addr() }
