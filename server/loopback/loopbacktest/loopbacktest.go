// Package loopbacktest holds the misbehaving clients the transport's
// protections are tested against, for the transport's own tests and the
// HTTP server's.
package loopbacktest

import (
	"io"
	"net"
	"testing"
	"time"
)

// TrickleHeaders is a hostile client: it sends addr a request head a byte every 20 ms and returns
// how long the server took to close the connection, and how many bytes it
// answered; it fails t if the server has not closed it within bound.
func TrickleHeaders(t testing.TB, addr string, bound time.Duration) (time.Duration, int64) {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: "); err != nil {
			return
		}
		for range 1000 { // bounded: 20 s at most
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(start.Add(bound))
	n, err := io.Copy(io.Discard, c)
	elapsed := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a trickling connection open for %v", elapsed)
	}
	return elapsed, n
}
