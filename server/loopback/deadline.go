package loopback

// Coarse deadlines for the connections the cap tracks.
//
// net/http sets a connection's deadlines several times a request: the
// whole request's read deadline (ReadTimeout), the write deadline
// (WriteTimeout), the idle deadline between requests (IdleTimeout) and the
// next request's header deadline (ReadHeaderTimeout). On a TCP connection
// each of those arms a runtime timer, a locked heap update, and under warm
// reads that was most of what the protection cost. Every such limit here
// is seconds long, so a tracked connection keeps its future deadlines as
// numbers, and one sweeper, ticking while connections are open, enforces
// those that have passed by giving the socket a deadline in the past: the
// read or write then fails as it would have, at most one interval late.
// A deadline already past or due within two intervals goes to the socket
// at once, as before: net/http stops its background read with a deadline
// in the past, and that must not wait for a tick.

import (
	"errors"
	"sync/atomic"
	"time"
)

// sweepInterval is how often passed deadlines are enforced: the server's
// shortest limit is 5 s, so a second late is within its purpose.
const sweepInterval = time.Second

// pastDeadline is the deadline the sweeper gives a socket whose kept
// deadline has passed.
var pastDeadline = time.Unix(1, 0)

// sweeper is the clock of the kept deadlines of a listener's open
// connections; the listener's sweep enforces them.
type sweeper struct {
	interval time.Duration
	epoch    time.Time    // deadlines are kept as monotonic offsets from it
	clock    atomic.Int64 // the offset of the last tick
}

func newSweeper(interval time.Duration) *sweeper {
	return &sweeper{interval: interval, epoch: time.Now()}
}

// offset is t as the sweeper keeps it; the monotonic clock, as the
// runtime's own timers use, when t has a reading of it.
func (s *sweeper) offset(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

// tick moves the clock to now and returns it.
func (s *sweeper) tick() int64 {
	now := s.offset(time.Now())
	s.clock.Store(now)
	return now
}

// sweep enforces passed deadlines once an interval, until no connection is
// left open.
func (l *limitListener) sweep() {
	tick := time.NewTicker(l.sweeper.interval)
	defer tick.Stop()
	var conns []*limitConn
	for range tick.C {
		now := l.sweeper.tick()
		l.mu.Lock()
		if len(l.conns) == 0 {
			l.sweeping = false
			l.mu.Unlock()
			return
		}
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		for _, c := range conns {
			c.expire(now)
		}
		clear(conns) // hold no closed connection until the next tick
		conns = conns[:0]
	}
}

// deadline is one direction's deadline of a tracked connection.
type deadline struct {
	due      atomic.Int64 // sweeper offset of a kept deadline; 0: none
	onSocket atomic.Bool  // the socket holds a deadline set through here
}

// update records t, the deadline asked for, and returns what the socket's
// own deadline must be set to, if anything: t itself when it is past or
// nearly due, or none in place of one the socket still holds.
func (d *deadline) update(t time.Time, s *sweeper) (socket time.Time, set bool) {
	if !t.IsZero() {
		due := s.offset(t)
		if due < s.clock.Load()+2*int64(s.interval) {
			d.due.Store(0)
			d.onSocket.Store(true)
			return t, true
		}
		d.due.Store(due)
	} else if d.due.Load() != 0 {
		d.due.Store(0) // most clears find none kept: spare them the store
	}
	return time.Time{}, d.onSocket.Load() && d.onSocket.Swap(false)
}

// expired reports, once, whether the kept deadline has passed at now; the
// caller then gives the socket a deadline in the past. If the deadline is
// renewed at that same instant, the connection may still be cut, as when
// a runtime timer fires just before it is reset.
func (d *deadline) expired(now int64) bool {
	due := d.due.Load()
	if due == 0 || due > now || !d.due.CompareAndSwap(due, 0) {
		return false
	}
	d.onSocket.Store(true)
	return true
}

func (c *limitConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *limitConn) SetReadDeadline(t time.Time) error {
	if socket, set := c.read.update(t, c.l.sweeper); set {
		return c.Conn.SetReadDeadline(socket)
	}
	return nil
}

func (c *limitConn) SetWriteDeadline(t time.Time) error {
	if socket, set := c.write.update(t, c.l.sweeper); set {
		return c.Conn.SetWriteDeadline(socket)
	}
	return nil
}

// expire cuts the reads or writes whose kept deadline has passed at now.
func (c *limitConn) expire(now int64) {
	if c.read.expired(now) {
		c.Conn.SetReadDeadline(pastDeadline)
	}
	if c.write.expired(now) {
		c.Conn.SetWriteDeadline(pastDeadline)
	}
}
