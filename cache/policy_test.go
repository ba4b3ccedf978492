package cache

import (
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func testPolicy() Policy {
	return Policy{TTL: 10 * time.Second, MaxStale: time.Minute, ForceInterval: time.Second, BackoffBase: time.Second, BackoffMax: 30 * time.Second}
}

func TestFreshAndServable(t *testing.T) {
	p := testPolicy()
	tests := []struct {
		age             time.Duration
		fresh, servable bool
	}{
		{0, true, true},
		{9999 * time.Millisecond, true, true},
		{10 * time.Second, false, true},
		{69 * time.Second, false, true},
		{70 * time.Second, false, false},
		{-time.Hour, true, true}, // the wall clock stepped back: still fresh
	}
	for _, tt := range tests {
		if got := p.Fresh(t0, t0.Add(tt.age)); got != tt.fresh {
			t.Errorf("Fresh(age %v) = %v, want %v", tt.age, got, tt.fresh)
		}
		if got := p.Servable(t0, t0.Add(tt.age)); got != tt.servable {
			t.Errorf("Servable(age %v) = %v, want %v", tt.age, got, tt.servable)
		}
	}
	zero := Policy{}
	if zero.Fresh(t0, t0) {
		t.Error("TTL 0: a value must never be fresh")
	}
}

func TestDecide(t *testing.T) {
	p := testPolicy()
	sec := &item.Value{VersionID: "v1"}
	transient := &item.Error{Code: "ThrottlingException", Transient: true}
	permanent := &item.Error{Code: "AccessDeniedException"}
	tests := []struct {
		name  string
		e     *entry
		age   time.Duration // now - t0
		force bool
		want  Action
	}{
		{"never fetched", nil, 0, false, Fetch},
		{"fresh", &entry{value: sec, fetchedAt: t0}, 5 * time.Second, false, ServeFresh},
		{"fresh but forced", &entry{value: sec, fetchedAt: t0}, 5 * time.Second, true, Fetch},
		{"expired, upstream healthy", &entry{value: sec, fetchedAt: t0}, 11 * time.Second, false, Fetch},
		{"expired, failing, in backoff", &entry{value: sec, fetchedAt: t0, err: transient, failures: 1, retryAt: t0.Add(20 * time.Second)}, 11 * time.Second, false, ServeStale},
		{"expired, failing, backoff over", &entry{value: sec, fetchedAt: t0, err: transient, failures: 1, retryAt: t0.Add(11 * time.Second)}, 12 * time.Second, false, ServeStaleAndRefresh},
		{"past max stale, in backoff", &entry{value: sec, fetchedAt: t0, err: transient, failures: 3, retryAt: t0.Add(80 * time.Second)}, 75 * time.Second, false, FailFast},
		{"past max stale, backoff over", &entry{value: sec, fetchedAt: t0, err: transient, failures: 3, retryAt: t0.Add(70 * time.Second)}, 75 * time.Second, false, Fetch},
		{"no value, in backoff", &entry{err: permanent, failures: 1, retryAt: t0.Add(time.Second)}, 0, false, FailFast},
		{"no value, backoff over", &entry{err: permanent, failures: 1, retryAt: t0.Add(time.Second)}, time.Second, false, Fetch},
		{"no value, forced during backoff", &entry{err: permanent, failures: 1, retryAt: t0.Add(time.Second)}, 0, true, Fetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.e, t0.Add(tt.age), tt.force); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShouldCallUpstream(t *testing.T) {
	p := testPolicy()
	sec := &item.Value{}
	tests := []struct {
		name  string
		e     *entry
		now   time.Time
		force bool
		want  bool
	}{
		{"nothing cached", nil, t0, false, true},
		{"another flight just refreshed it", &entry{value: sec, fetchedAt: t0, attemptAt: t0}, t0.Add(time.Millisecond), false, false},
		{"expired", &entry{value: sec, fetchedAt: t0, attemptAt: t0}, t0.Add(10 * time.Second), false, true},
		{"forced within the interval", &entry{value: sec, fetchedAt: t0, attemptAt: t0}, t0.Add(999 * time.Millisecond), true, false},
		{"forced after the interval", &entry{value: sec, fetchedAt: t0, attemptAt: t0}, t0.Add(time.Second), true, true},
		{"in backoff", &entry{failures: 2, attemptAt: t0, retryAt: t0.Add(4 * time.Second)}, t0.Add(time.Second), false, false},
		{"backoff over", &entry{failures: 2, attemptAt: t0, retryAt: t0.Add(4 * time.Second)}, t0.Add(4 * time.Second), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.ShouldCallUpstream(tt.e, tt.now, tt.force); got != tt.want {
				t.Errorf("ShouldCallUpstream = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := testPolicy()
	tests := []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 500 * time.Millisecond},
		{1, 0.999999, time.Second - time.Microsecond/2},
		{2, 0, time.Second},
		{3, 0, 2 * time.Second},
		{6, 0, 15 * time.Second}, // 32 s capped at 30 s, half fixed
		{100, 1, 30 * time.Second},
	}
	for _, tt := range tests {
		got := p.Backoff(tt.n, tt.jitter)
		if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.jitter, got, tt.want)
		}
	}
}

func TestAfterFailure(t *testing.T) {
	p := testPolicy()
	prev := &entry{value: &item.Value{}, fetchedAt: t0}
	next := p.afterFailure(prev, &item.Error{Code: "ThrottlingException", Transient: true}, t0.Add(time.Minute))
	if next.value == nil || !next.fetchedAt.Equal(t0) || next.failures != 1 {
		t.Errorf("transient failure must keep the last value: %+v", next)
	}
	if d := next.retryAt.Sub(t0.Add(time.Minute)); d < 500*time.Millisecond || d > time.Second {
		t.Errorf("first retry in %v, want within [0.5s, 1s]", d)
	}
	next = p.afterFailure(next, &item.Error{Code: "AccessDeniedException"}, t0.Add(2*time.Minute))
	if next.value != nil || next.failures != 2 {
		t.Errorf("permanent failure must drop the value: %+v", next)
	}
}

func TestRefreshAhead(t *testing.T) {
	p := testPolicy() // TTL 10s
	sec := &item.Value{}
	if got := p.RefreshAheadAt(t0, 0); got != t0.Add(7500*time.Millisecond) {
		t.Errorf("earliest %v, want 75 %% of the TTL", got.Sub(t0))
	}
	if got := p.RefreshAheadAt(t0, 0.999999); got.Sub(t0) >= 9*time.Second || got.Sub(t0) < 8990*time.Millisecond {
		t.Errorf("latest %v, want just under 90 %% of the TTL", got.Sub(t0))
	}
	tests := []struct {
		name string
		e    *entry
		at   time.Duration
		want bool
	}{
		{"nothing cached", nil, time.Hour, false},
		{"no value", &entry{err: &item.Error{Code: "AccessDeniedException"}}, time.Hour, false},
		{"early", &entry{value: sec, fetchedAt: t0, aheadJitter: 0.5}, 8 * time.Second, false},
		{"due", &entry{value: sec, fetchedAt: t0, aheadJitter: 0.5}, 8250 * time.Millisecond, true},
		{"expired", &entry{value: sec, fetchedAt: t0}, time.Minute, true},
		{"after a failure, in backoff", &entry{value: sec, fetchedAt: t0, failures: 1, retryAt: t0.Add(12 * time.Second)}, 11 * time.Second, false},
		{"after a failure, backoff over", &entry{value: sec, fetchedAt: t0, failures: 1, retryAt: t0.Add(12 * time.Second)}, 12 * time.Second, true},
	}
	for _, tt := range tests {
		if got := p.ShouldRefreshAhead(tt.e, t0.Add(tt.at)); got != tt.want {
			t.Errorf("%s: ShouldRefreshAhead = %v, want %v", tt.name, got, tt.want)
		}
	}
	p.TTL = 0
	if p.ShouldRefreshAhead(&entry{value: sec, fetchedAt: t0}, t0.Add(time.Hour)) {
		t.Error("TTL 0 refreshes ahead; every request fetches anyway")
	}
}

func TestNeverWaitServesStaleAtOnce(t *testing.T) {
	p := testPolicy()
	p.NeverWait = true
	e := &entry{value: &item.Value{}, fetchedAt: t0}
	if got := p.Decide(e, t0.Add(11*time.Second), false); got != ServeStaleAndRefresh {
		t.Errorf("expired, servable: %v, want ServeStaleAndRefresh", got)
	}
	if got := p.Decide(e, t0.Add(p.TTL+p.MaxStale), false); got != Fetch {
		t.Errorf("past max-stale: %v, want Fetch", got)
	}
	if got := p.Decide(nil, t0, false); got != Fetch {
		t.Errorf("nothing cached: %v, want Fetch", got)
	}
}
