package loopback

// The inbound connection cap. It sits below net/http, in the listener, so
// that a connection past the cap costs neither a serving goroutine nor a
// request parse: a caller that opens connections without end (a leak in a
// handler, a hostile process in the sandbox) gets a prompt 429 and cannot
// exhaust the extension's file descriptors or memory.

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConnections is the connection cap when none is configured. A
// Lambda environment runs one invoke at a time, so a well-behaved function
// needs a handful of connections; 512 leaves room for a handler fanning out
// hundreds of parallel reads while keeping the extension within half of
// Lambda's 1,024 file descriptors, and its worst case (about 20 KiB of
// goroutine stack and buffers per idle connection) near 10 MiB.
const DefaultMaxConnections = 512

// How a connection past the cap is answered: its request head is read
// (within rejectTimeout and rejectDrain bytes), the 429 written, and the
// rest drained briefly so that closing does not reset the connection before
// the caller has read the answer. At most maxRejecting connections are
// being answered at a time; beyond that they are closed without an answer,
// so that a flood cannot make the rejections themselves a cost.
const (
	rejectTimeout = time.Second
	rejectDrain   = 64 << 10
	maxRejecting  = 64
	rejectLogGap  = 10 * time.Second
)

// tooManyConnections is the whole answer to a connection past a cap of
// max connections.
func tooManyConnections(max int) []byte {
	body := fmt.Sprintf(`{"error":"TooManyConnections","message":"the extension already serves its maximum of %d concurrent connections; reuse connections (HTTP keep-alive) or close idle ones and retry"}`, max) + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\n"+
		"Content-Type: application/json\r\n"+
		"Cache-Control: no-store\r\n"+
		"X-Content-Type-Options: nosniff\r\n"+
		"Retry-After: 1\r\n"+
		"Connection: close\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)
}

// LimitListener returns ln wrapped so that at most max connections it
// accepted are open at once (DefaultMaxConnections if max < 1). A connection
// past the cap is answered 429 with the contract's JSON error and closed; it
// never reaches the HTTP server.
func LimitListener(ln net.Listener, max int, log *slog.Logger) net.Listener {
	if max < 1 {
		max = DefaultMaxConnections
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &limitListener{
		Listener:  ln,
		max:       max,
		answer:    tooManyConnections(max),
		rejecting: make(chan struct{}, maxRejecting),
		log:       log,
		sweeper:   newSweeper(sweepInterval),
		conns:     make(map[*limitConn]struct{}),
	}
}

type limitListener struct {
	net.Listener
	max       int
	answer    []byte // to a connection past the cap
	rejected  atomic.Int64
	lastLog   atomic.Int64 // unix nanoseconds of the last rejection logged
	rejecting chan struct{}
	log       *slog.Logger
	sweeper   *sweeper // the clock of the connections' deadlines

	mu       sync.Mutex
	conns    map[*limitConn]struct{} // open within the cap
	sweeping bool                    // sweep is running
}

// Accept returns the next connection within the cap, answering those past
// it on the way.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitConn{Conn: c, l: l}
		if l.track(lc) {
			return lc, nil
		}
		l.reject(c)
	}
}

// track counts c among the open connections, unless the cap is reached,
// and starts the sweep of their deadlines if it was not running.
func (l *limitListener) track(c *limitConn) bool {
	l.sweeper.tick() // c's first deadlines are kept against a current clock
	l.mu.Lock()
	if len(l.conns) >= l.max {
		l.mu.Unlock()
		return false
	}
	l.conns[c] = struct{}{}
	start := !l.sweeping
	l.sweeping = true
	l.mu.Unlock()
	if start {
		go l.sweep()
	}
	return true
}

// Active is the number of connections open within the cap.
func (l *limitListener) Active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *limitListener) reject(c net.Conn) {
	n := l.rejected.Add(1)
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last >= int64(rejectLogGap) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("connection refused: too many connections", "event", "connection_limit",
			"status", 429, "max_connections", l.max, "rejected_total", n)
	}
	select {
	case l.rejecting <- struct{}{}:
	default:
		// Too many rejections in progress: close at once, without an
		// answer, so that a flood cannot make the answers a cost.
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.rejecting }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(rejectTimeout))
		// Read the request head first: an HTTP client may drop an answer
		// that arrives before it has sent its request.
		if !readHead(c) {
			return
		}
		if _, err := c.Write(l.answer); err != nil {
			return
		}
		// Half-close, then drain what the caller still sends (a body), so
		// that closing does not reset the connection before the caller has
		// read the answer.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, rejectDrain))
	}()
}

// readHead reads until the blank line that ends a request's head, and
// reports whether it saw it within rejectDrain bytes (and the deadline).
func readHead(c net.Conn) bool {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for len(buf) < rejectDrain {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) || bytes.Contains(buf, []byte("\n\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// limitConn gives its slot back when closed, once however often it is
// closed, and keeps its deadlines for the sweeper (deadline.go).
type limitConn struct {
	net.Conn
	l           *limitListener
	once        sync.Once
	read, write deadline
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}

// CloseWrite lets net/http half-close the connection before closing it,
// as it does for an unwrapped TCP connection.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
