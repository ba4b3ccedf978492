package loopback

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/server/loopback/loopbacktest"
)

// TestDeadlineUpdate: what reaches the socket for each deadline asked for.
func TestDeadlineUpdate(t *testing.T) {
	s := newSweeper(time.Second)
	now := time.Now()
	s.clock.Store(s.offset(now))
	for _, tt := range []struct {
		name     string
		onSocket bool
		asked    time.Time
		want     time.Time
		set      bool
		kept     bool
	}{
		{"none, none held", false, time.Time{}, time.Time{}, false, false},
		{"none, one held: cleared", true, time.Time{}, time.Time{}, true, false},
		{"far in the past (net/http stopping a read)", false, pastDeadline, pastDeadline, true, false},
		{"just past", false, now.Add(-time.Millisecond), now.Add(-time.Millisecond), true, false},
		{"due within two intervals", false, now.Add(1500 * time.Millisecond), now.Add(1500 * time.Millisecond), true, false},
		{"seconds away: kept", false, now.Add(5 * time.Second), time.Time{}, false, true},
		{"seconds away, one held: kept, the socket's cleared", true, now.Add(5 * time.Second), time.Time{}, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d deadline
			d.due.Store(s.offset(now.Add(time.Minute))) // an earlier kept one
			d.onSocket.Store(tt.onSocket)
			got, set := d.update(tt.asked, s)
			if set != tt.set || !got.Equal(tt.want) {
				t.Errorf("socket deadline %v (set %v), want %v (set %v)", got, set, tt.want, tt.set)
			}
			if kept := d.due.Load() != 0; kept != tt.kept {
				t.Errorf("kept %v, want %v", kept, tt.kept)
			}
			if d.onSocket.Load() != (set && !got.IsZero()) {
				t.Errorf("onSocket %v after setting %v (set %v)", d.onSocket.Load(), got, set)
			}
		})
	}
}

// TestDeadlineExpiresOnce: a kept deadline is enforced once, when it has
// passed, and not at all when cleared first.
func TestDeadlineExpiresOnce(t *testing.T) {
	s := newSweeper(time.Second)
	now := time.Now()
	var d deadline
	d.update(now.Add(10*time.Second), s)
	at := s.offset(now)
	if d.expired(at + int64(9*time.Second)) {
		t.Fatal("expired before it was due")
	}
	if !d.expired(at + int64(10*time.Second)) {
		t.Fatal("not expired when due")
	}
	if !d.onSocket.Load() {
		t.Error("an enforced deadline is not marked as held by the socket")
	}
	if d.expired(at + int64(11*time.Second)) {
		t.Error("expired twice")
	}
	if _, set := d.update(time.Time{}, s); !set {
		t.Error("clearing after enforcement left the socket's deadline")
	}

	d.update(now.Add(10*time.Second), s)
	d.update(time.Time{}, s)
	if d.expired(at + int64(time.Minute)) {
		t.Error("a cleared deadline was enforced")
	}
}

// tcpPair is both ends of a loopback TCP connection, the server's end
// tracked by l.
func tcpPair(t *testing.T, l *limitListener) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func fastSweepListener(t *testing.T, interval time.Duration) *limitListener {
	t.Helper()
	ln, err := ListenIPv4(0)
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(ln, 8, nil).(*limitListener)
	l.sweeper = newSweeper(interval)
	t.Cleanup(func() { l.Close() })
	return l
}

// TestSweeperCutsReadsAndWrites: a kept deadline that passes fails the
// blocked read or write with a timeout, as a socket deadline would.
func TestSweeperCutsReadsAndWrites(t *testing.T) {
	l := fastSweepListener(t, 10*time.Millisecond)
	srv, _ := tcpPair(t, l)

	srv.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if srv.(*limitConn).read.due.Load() == 0 {
		t.Fatal("a deadline 20 intervals away went to the socket, not the sweeper")
	}
	start := time.Now()
	_, err := srv.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline error", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("read cut after %v, before its deadline", waited)
	}

	// The client never reads: writes fill the socket buffers, then block
	// until the write deadline.
	srv.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	chunk := make([]byte, 64<<10)
	for {
		if _, err = srv.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write: %v, want a deadline error", err)
	}
}

// TestSweeperStopsWithoutConnections: the sweeper's goroutine runs only
// while connections are open.
func TestSweeperStopsWithoutConnections(t *testing.T) {
	l := fastSweepListener(t, 5*time.Millisecond)
	running := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.sweeping
	}
	if running() {
		t.Fatal("running before any connection")
	}
	srv, client := tcpPair(t, l)
	if !running() {
		t.Fatal("not running with a connection open")
	}
	srv.Close()
	client.Close()
	if !pollUntil(5*time.Second, func() bool { return !running() }) {
		t.Fatal("still running after the last connection closed")
	}
	// And starts again with the next.
	tcpPair(t, l)
	if !running() {
		t.Fatal("not restarted by a new connection")
	}
}

// TestLimitedServerCutsSlowClients: through net/http's server, the swept
// deadlines cut a client trickling its headers and close a kept-alive
// connection left idle, while a normal keep-alive exchange is unaffected.
func TestLimitedServerCutsSlowClients(t *testing.T) {
	l := fastSweepListener(t, 10*time.Millisecond)
	const limit = 300 * time.Millisecond // 30 intervals: swept, not on the socket
	srv := &http.Server{Handler: plainHandler, ReadHeaderTimeout: limit, ReadTimeout: limit, IdleTimeout: limit}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	addr := l.Addr().String()

	t.Run("trickling headers", func(t *testing.T) {
		if elapsed, _ := loopbacktest.TrickleHeaders(t, addr, 10*time.Second); elapsed < limit*3/4 {
			t.Errorf("cut after %v, before ReadHeaderTimeout (%v)", elapsed, limit)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for range 3 {
			if resp := rawGet(t, c, br, "/secret/Plain"); resp.StatusCode != http.StatusOK {
				t.Fatalf("keep-alive request: %d", resp.StatusCode)
			}
		}
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: %v, want the server to close it", err)
		}
		if elapsed := time.Since(start); elapsed < limit*3/4 {
			t.Errorf("closed after %v idle, before IdleTimeout (%v)", elapsed, limit)
		}
	})
}
