package cache

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
)

// Policy holds the freshness rules. Every decision is a pure function of a
// Policy, an entry and a wall-clock instant, so that a table test can reach
// each of them without a clock or a network.
type Policy struct {
	// TTL is how long a fetched value is fresh. Zero: never fresh, every
	// request goes upstream (still single-flight).
	TTL time.Duration
	// MaxStale is how long past its TTL a value may still be served while
	// upstream fails transiently.
	MaxStale time.Duration
	// ForceInterval is the least time between two upstream calls that a
	// forced refresh may cause for one secret.
	ForceInterval time.Duration
	// BackoffBase and BackoffMax bound the wait after a failed fetch:
	// BackoffBase doubled per consecutive failure, capped at BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// RefreshWait bounds how long a request waits on the refresh of an
	// expired value that is still servable: past it, the request gets the
	// previous value, marked stale, and the fetch goes on. Zero: wait for
	// the fetch, up to the fetch timeout.
	RefreshWait time.Duration
	// NegativeTTL is how long "not found" and "access denied" are answered
	// from memory, with no upstream call: a loop asking for a secret that
	// does not exist must not spend the account's quota. Zero: those
	// failures back off as any other.
	NegativeTTL time.Duration
	// NeverWait answers an expired value that is still servable at once,
	// marked stale, while the refresh runs. It suits an environment that
	// is never frozen and refreshes ahead of expiry (Managed Instances):
	// there a value expires only when upstream is slow or failing, and no
	// reader should wait on it.
	NeverWait bool
}

// Limits are the configured durations a Policy is built from.
type Limits struct {
	TTL, MaxStale, NegativeTTL, FetchTimeout time.Duration
}

// NewPolicy is the extension's freshness policy: the configured limits,
// and fixed rules for the rest. Forced refreshes cost at most one
// upstream call a second. After a failure the retries back off from 1 s to
// 10 s, so that a recovered Secrets Manager is seen within 10 s while a long
// outage costs one call per 10 s per environment. A request waits at most
// 1 s on the refresh of a value it could be served stale; where the
// environment is never frozen (refreshAhead: values are refreshed ahead of
// expiry in the background) it never waits on one.
func NewPolicy(l Limits, refreshAhead bool) Policy {
	return Policy{
		TTL:           l.TTL,
		MaxStale:      l.MaxStale,
		NegativeTTL:   l.NegativeTTL,
		ForceInterval: time.Second,
		BackoffBase:   time.Second,
		BackoffMax:    10 * time.Second,
		RefreshWait:   min(time.Second, l.FetchTimeout),
		NeverWait:     refreshAhead,
	}
}

// Negative reports whether a failure says the thing asked for is not
// there, or not this function's to read: an answer that holds until
// someone changes the secret, the parameter or the policy, and so may be
// remembered.
func Negative(err *item.Error) bool {
	if err == nil || err.Transient {
		return false
	}
	switch err.Code {
	case item.CodeNotFound, "ParameterNotFound", "ParameterVersionNotFound", "AccessDeniedException":
		return true
	}
	return false
}

// entry is what the cache knows about one key. Entries are immutable: every
// change publishes a new one, so readers never lock.
type entry struct {
	value     *item.Value // last good value; nil before one, or after a permanent failure
	doc       *Document   // value parsed into slices (the primary secret only)
	docErr    error       // why value is not a Starfleet document
	fetchedAt time.Time   // when value was fetched, by the wall clock
	attemptAt time.Time   // when the last upstream call started
	err       *item.Error
	failures  int       // consecutive failed fetches
	retryAt   time.Time // no upstream call before this, unless forced
	// aheadJitter places the refresh ahead of expiry within its window.
	aheadJitter float64
	// read is set once a request was answered from this entry: refreshing
	// ahead is only worth it for values someone reads.
	read atomic.Bool
	// superseded: a write through the extension replaced value. It is no
	// longer fresh, a read waits for the fetch that follows, and only if
	// that fails is value served, marked stale.
	superseded bool
}

// newEntry is the entry of a value fetched at fetchedAt by a call that
// started at attemptAt.
func newEntry(v *item.Value, fetchedAt, attemptAt time.Time) *entry {
	return &entry{value: v, fetchedAt: fetchedAt, attemptAt: attemptAt, aheadJitter: rand.Float64()}
}

// keep carries prev's good value over into e.
func (e *entry) keep(prev *entry) {
	e.value, e.doc, e.docErr, e.fetchedAt = prev.value, prev.doc, prev.docErr, prev.fetchedAt
}

// supersede is e after a write replaced its value: never fresh, still
// servable while upstream fails.
func (e *entry) supersede() *entry {
	next := &entry{attemptAt: e.attemptAt, aheadJitter: e.aheadJitter, superseded: true}
	next.keep(e)
	next.read.Store(e.read.Load())
	return next
}

func (e *entry) result() Result {
	return Result{Value: e.value, FetchedAt: e.fetchedAt, doc: e.doc, docErr: e.docErr}
}

func (e *entry) staleResult() Result {
	res := e.result()
	res.Stale, res.StaleCause = true, e.err
	return res
}

// wipe overwrites the entry's copies of secret bytes.
func (e *entry) wipe() {
	if e.value != nil {
		e.value.Wipe()
	}
	if e.doc != nil {
		e.doc.wipe()
	}
}

// Action is what to do with a request, given the entry it finds.
type Action int

const (
	// ServeFresh: answer from the cache.
	ServeFresh Action = iota
	// Fetch: call upstream (or join the call in flight) and wait for it.
	Fetch
	// ServeStale: answer the expired value with a warning, no upstream call.
	ServeStale
	// ServeStaleAndRefresh: answer the expired value at once and start a
	// fetch in the background.
	ServeStaleAndRefresh
	// FailFast: answer the last error at once; the backoff forbids a call.
	FailFast
)

func (a Action) String() string {
	return [...]string{"ServeFresh", "Fetch", "ServeStale", "ServeStaleAndRefresh", "FailFast"}[a]
}

// Fresh reports whether a value fetched at fetchedAt is still fresh at now.
// The comparison is by the wall clock: Lambda freezes the environment between
// invocations, and a monotonic reading can stand still while it is frozen.
func (p Policy) Fresh(fetchedAt, now time.Time) bool {
	return p.TTL > 0 && now.Sub(fetchedAt) < p.TTL
}

// Servable reports whether an expired value fetched at fetchedAt may still be
// served at now while upstream fails transiently.
func (p Policy) Servable(fetchedAt, now time.Time) bool {
	return now.Sub(fetchedAt) < p.TTL+p.MaxStale
}

// Decide chooses the action for a request that finds e (nil: never fetched).
func (p Policy) Decide(e *entry, now time.Time, force bool) Action {
	if e == nil {
		return Fetch
	}
	hasValue := e.value != nil
	if hasValue && !force && !e.superseded && p.Fresh(e.fetchedAt, now) {
		return ServeFresh
	}
	if force || e.superseded {
		// The fetch itself enforces ForceInterval, sharing its result.
		// After a write the caller reads what it wrote: it waits, backoff
		// or not, and the old value is only its fallback.
		return Fetch
	}
	inBackoff := e.failures > 0 && now.Before(e.retryAt)
	if hasValue && e.failures > 0 && p.Servable(e.fetchedAt, now) {
		// Upstream is known to be failing: answer now from the stale value
		// instead of making the caller wait on a likely doomed fetch.
		if inBackoff {
			return ServeStale
		}
		return ServeStaleAndRefresh
	}
	if inBackoff {
		return FailFast
	}
	if hasValue && p.NeverWait && p.Servable(e.fetchedAt, now) {
		return ServeStaleAndRefresh
	}
	return Fetch
}

// ShouldCallUpstream decides, inside the single flight, whether the fetch
// really calls Secrets Manager. Another flight may have refreshed the entry
// since the caller looked, and forced refreshes are rate-limited.
func (p Policy) ShouldCallUpstream(e *entry, now time.Time, force bool) bool {
	if e == nil {
		return true
	}
	if force {
		return e.attemptAt.IsZero() || now.Sub(e.attemptAt) >= p.ForceInterval
	}
	if e.superseded {
		return true
	}
	if e.value != nil && p.Fresh(e.fetchedAt, now) {
		return false
	}
	return e.failures == 0 || !now.Before(e.retryAt)
}

// RefreshAheadAt is when a value fetched at fetchedAt is refetched in the
// background: between 75 and 90 % of its TTL, placed by jitter in [0, 1) so
// that environments started together do not call upstream together, and
// early enough that a fetch of a few seconds ends before the value expires.
func (p Policy) RefreshAheadAt(fetchedAt time.Time, jitter float64) time.Time {
	return fetchedAt.Add(time.Duration(float64(p.TTL) * (0.75 + 0.15*jitter)))
}

// ShouldRefreshAhead reports whether e's value is due for its background
// refresh at now: it has one, the TTL caches at all, its moment has come,
// and no backoff forbids a call.
func (p Policy) ShouldRefreshAhead(e *entry, now time.Time) bool {
	if e == nil || e.value == nil || p.TTL <= 0 {
		return false
	}
	if e.superseded {
		return true
	}
	if e.failures > 0 {
		return !now.Before(e.retryAt)
	}
	return !now.Before(p.RefreshAheadAt(e.fetchedAt, e.aheadJitter))
}

// Backoff is the wait after the n-th consecutive failure (n >= 1): the base
// doubled n-1 times, capped, with "equal jitter" (half fixed, half random) so
// that many environments failing together do not retry in lockstep.
// jitter is a number in [0, 1).
func (p Policy) Backoff(n int, jitter float64) time.Duration {
	d := p.BackoffBase
	for i := 1; i < n && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d/2 + time.Duration(jitter*float64(d/2))
}

// afterFailure is the entry that follows a failed upstream call.
func (p Policy) afterFailure(prev *entry, err *item.Error, started time.Time) *entry {
	next := &entry{attemptAt: started, err: err, failures: 1, aheadJitter: rand.Float64()}
	if prev != nil {
		next.failures = prev.failures + 1
		if err.Transient {
			// Keep the last good value: it may be served until MaxStale.
			next.keep(prev)
		}
	}
	if p.NegativeTTL > 0 && Negative(err) {
		next.retryAt = started.Add(p.NegativeTTL)
		return next
	}
	next.retryAt = started.Add(p.Backoff(next.failures, rand.Float64()))
	return next
}
