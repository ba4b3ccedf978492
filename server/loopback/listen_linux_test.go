package loopback

import (
	"net"
	"syscall"
	"testing"
)

// TestListenIsPlainTCP: the listeners, and the connections they accept,
// are plain TCP sockets, not Multipath TCP ones, where the kernel offers
// both.
func TestListenIsPlainTCP(t *testing.T) {
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lns := []net.Listener{ln}
	if m, ok := ln.(*multiListener); ok {
		lns = m.lns
	}
	for _, l := range lns {
		if p := socketProtocol(t, l.(*net.TCPListener)); p != syscall.IPPROTO_TCP {
			t.Errorf("listener on %v: protocol %d, want TCP (%d)", l.Addr(), p, syscall.IPPROTO_TCP)
		}
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	if p := socketProtocol(t, accepted.(*net.TCPConn)); p != syscall.IPPROTO_TCP {
		t.Errorf("accepted connection: protocol %d, want TCP (%d)", p, syscall.IPPROTO_TCP)
	}
}

// socketProtocol is the SO_PROTOCOL of s's socket.
func socketProtocol(t *testing.T, s syscall.Conn) int {
	t.Helper()
	raw, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var protocol int
	var opErr error
	if err := raw.Control(func(fd uintptr) {
		protocol, opErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PROTOCOL)
	}); err != nil {
		t.Fatal(err)
	}
	if opErr != nil {
		t.Fatal(opErr)
	}
	return protocol
}
