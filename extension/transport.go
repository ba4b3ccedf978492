package extension

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// apiTransport is the HTTP client of the Extensions API: plain HTTP/1.1 to
// the platform on the loopback, one connection reused request after
// request, and no goroutine of its own. net/http's Transport runs three per
// connection (dial, read loop, write loop), and while the extension is
// still registering each of them can cost a new thread: CPU that a small
// function, at a fraction of a vCPU, pays for before its runtime may start.
type apiTransport struct {
	dialer net.Dialer

	mu   sync.Mutex
	idle *apiConn // at most one: the API has one request outstanding per extension
}

type apiConn struct {
	net.Conn
	r *bufio.Reader
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read or
// write at once.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip implements http.RoundTripper. A request is never sent twice:
// a connection that breaks under one is the platform failing, and is
// reported.
func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := t.conn(req.Context(), req.URL.Host)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	ctx := req.Context()
	// A canceled request ends the blocked read or write, and with it the
	// connection: what it carried next is unknown.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := req.Write(c); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &apiBody{ReadCloser: resp.Body, t: t, c: c, stop: stop, reuse: !resp.Close}
	return resp, nil
}

// conn is the kept connection, if the platform has left it open, or a new
// one to host.
func (t *apiTransport) conn(ctx context.Context, host string) (*apiConn, error) {
	t.mu.Lock()
	c := t.idle
	t.idle = nil
	t.mu.Unlock()
	if c != nil && c.open() {
		return c, nil
	}
	if c != nil {
		c.Close()
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &apiConn{Conn: nc, r: bufio.NewReader(nc)}, nil
}

// release keeps c for the next request, if the slot is free.
func (t *apiTransport) release(c *apiConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = c
		return
	}
	c.Close()
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach it.
func (t *apiTransport) CloseIdleConnections() {
	t.mu.Lock()
	c := t.idle
	t.idle = nil
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// apiBody gives the connection back when its answer is closed: closing a
// body from http.ReadResponse reads what is left of it, so a clean close
// leaves the connection at the next answer.
type apiBody struct {
	io.ReadCloser
	t     *apiTransport
	c     *apiConn
	stop  func() bool
	reuse bool // the platform did not ask to close the connection
	once  sync.Once
}

func (b *apiBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		// stop reports false once the request's context has fired and the
		// connection's deadline was moved: it cannot be reused.
		if b.stop() && b.reuse && err == nil {
			b.t.release(b.c)
			return
		}
		b.c.Close()
	})
	return err
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
