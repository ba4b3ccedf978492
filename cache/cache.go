// Package cache keeps secrets from AWS Secrets Manager (or a local file) in
// memory and decides, per request, whether a cached value may be served,
// must be refetched, or may be served stale while Secrets Manager fails.
//
// One upstream call at most is in flight per secret version: concurrent
// requests share it. Freshness is judged by the wall clock when a request
// arrives, never by timers, because Lambda freezes the process between
// invocations.
package cache

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/starfleet/starfleet-secrets/metrics"
)

// Options configure a Cache. Source, Primary.SecretID and FetchTimeout are
// required.
type Options struct {
	Source Source
	Policy Policy
	// FetchTimeout bounds one upstream fetch, SDK retries included.
	FetchTimeout time.Duration
	// Primary is the Starfleet secret: parsed into slices, never evicted.
	Primary Key
	// Size bounds how many other secret versions are kept (LRU).
	Size int
	// Now is the clock; nil means time.Now().Round(0), the wall clock alone.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, if set, counts hits, misses, stale answers and fetches.
	Metrics *metrics.Recorder
}

// Cache is safe for concurrent use.
type Cache struct {
	src          Source
	policy       Policy
	fetchTimeout time.Duration
	primaryKey   Key
	now          func() time.Time
	log          *slog.Logger
	metrics      *metrics.Recorder
	etagKey      []byte

	primary atomic.Pointer[entry]
	others  *expirable.LRU[Key, *entry]
	flights singleflight.Group
	ready   atomic.Bool

	// background holds the context of every fetch: fetches outlive the
	// request that started them (others may be waiting on them), but not
	// the cache.
	background context.Context
	stop       context.CancelFunc
	mu         sync.Mutex // guards closed and the Add side of fetches
	closed     bool
	fetches    sync.WaitGroup
}

// Result is a value the cache answers with.
type Result struct {
	Secret    *Secret
	FetchedAt time.Time
	// Stale is set when the value is past its TTL and is served because
	// upstream fails transiently; StaleCause says how.
	Stale      bool
	StaleCause *UpstreamError
}

// New returns a cache. Call Close when done.
func New(o Options) *Cache {
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Now().Round(0) }
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Cache{
		src:          o.Source,
		policy:       o.Policy,
		fetchTimeout: o.FetchTimeout,
		primaryKey:   o.Primary.Normalize(),
		now:          now,
		log:          log,
		metrics:      o.Metrics,
		etagKey:      []byte(rand.Text()),
		// The LRU's own expiry only frees memory: by the time it drops an
		// entry, Policy would refuse to serve it anyway.
		others:     expirable.NewLRU[Key, *entry](max(o.Size, 1), nil, o.Policy.TTL+o.Policy.MaxStale),
		background: ctx,
		stop:       stop,
	}
}

// Primary is the key of the Starfleet secret.
func (c *Cache) Primary() Key { return c.primaryKey }

// Ready reports whether the Starfleet secret has been fetched successfully
// at least once.
func (c *Cache) Ready() bool { return c.ready.Load() }

// Get answers a request for key. force asks for a fresh upstream read,
// rate-limited by Policy.ForceInterval. Errors are *UpstreamError, or ctx's
// error when the caller gave up first.
func (c *Cache) Get(ctx context.Context, key Key, force bool) (Result, error) {
	key = key.Normalize()
	e := c.load(key)
	switch c.policy.Decide(e, c.now(), force) {
	case ServeFresh:
		c.metrics.Hit()
		return Result{Secret: e.secret, FetchedAt: e.fetchedAt}, nil
	case ServeStale:
		c.metrics.Stale()
		return staleResult(e), nil
	case ServeStaleAndRefresh:
		c.startRefresh(key, false)
		c.metrics.Stale()
		return staleResult(e), nil
	case FailFast:
		return Result{}, e.err
	}
	ch := c.startRefresh(key, force)
	var slow <-chan time.Time
	if c.policy.RefreshWait > 0 && e != nil && e.secret != nil && c.policy.Servable(e.fetchedAt, c.now()) {
		timer := time.NewTimer(c.policy.RefreshWait)
		defer timer.Stop()
		slow = timer.C
	}
	select {
	case r := <-ch:
		res, err := c.answer(r.Val.(*entry))
		if res.Stale {
			c.metrics.Stale()
		} else {
			c.metrics.Miss()
		}
		return res, err
	case <-slow:
		c.metrics.Stale()
		res := staleResult(e)
		res.StaleCause = &UpstreamError{Code: CodeRefreshSlow, Transient: true, Err: errors.New("the refresh is taking long; the previous value is served meanwhile")}
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// RefreshIfExpired starts a fetch in the background when key's value is not
// fresh, so that the handler's request, a moment later, finds it done or
// joins it. It is what INVOKE triggers.
func (c *Cache) RefreshIfExpired(key Key) {
	key = key.Normalize()
	e := c.load(key)
	if e != nil && e.secret != nil && c.policy.Fresh(e.fetchedAt, c.now()) {
		return
	}
	c.startRefresh(key, false)
}

// startRefresh joins the fetch in flight for key, or starts one. Callers
// that do not wait may drop the channel: it is buffered.
func (c *Cache) startRefresh(key Key, force bool) <-chan singleflight.Result {
	return c.flights.DoChan(key.flightKey(), func() (any, error) { return c.refresh(key, force), nil })
}

// answer turns the entry a flight produced into the caller's result.
func (c *Cache) answer(e *entry) (Result, error) {
	if e.err == nil {
		return Result{Secret: e.secret, FetchedAt: e.fetchedAt}, nil
	}
	if e.secret != nil && e.err.Transient && c.policy.Servable(e.fetchedAt, c.now()) {
		return staleResult(e), nil
	}
	return Result{}, e.err
}

func staleResult(e *entry) Result {
	return Result{Secret: e.secret, FetchedAt: e.fetchedAt, Stale: true, StaleCause: e.err}
}

// refresh runs inside the single flight for key: at most one per key at a
// time, so its read-modify-write of the entry cannot race another.
func (c *Cache) refresh(key Key, force bool) *entry {
	if !c.beginFetch() {
		return &entry{err: &UpstreamError{Code: CodeShuttingDown, Err: errors.New("the extension is shutting down")}}
	}
	prev := c.load(key)
	defer c.fetches.Done()

	started := c.now()
	if !c.policy.ShouldCallUpstream(prev, started, force) {
		return prev
	}
	ctx, cancel := context.WithTimeout(c.background, c.fetchTimeout)
	defer cancel()
	sec, err := c.src.GetSecretValue(ctx, key)
	finished := c.now()
	elapsed := finished.Sub(started)

	var next *entry
	if err != nil {
		uerr := Classify(err)
		c.metrics.Fetch(elapsed, uerr.Code)
		next = c.policy.afterFailure(prev, uerr, started)
		c.log.Warn("upstream fetch failed",
			"event", "upstream_fetch", "secret_id", key.SecretID, "status", "error",
			"aws_error_code", uerr.Code, "transient", uerr.Transient, "failures", next.failures,
			"retry_in_ms", next.retryAt.Sub(started).Milliseconds(),
			"duration_ms", elapsed.Milliseconds(), "error", uerr.Err.Error())
	} else {
		if key == c.primaryKey {
			sec.parseDocument(c.etagKey)
		}
		next = &entry{secret: sec, fetchedAt: finished, attemptAt: started}
		c.metrics.Fetch(elapsed, "")
		c.log.Info("upstream fetch",
			"event", "upstream_fetch", "secret_id", key.SecretID, "status", "ok",
			"version_id", sec.VersionID, "duration_ms", elapsed.Milliseconds())
	}
	c.store(key, next)
	if key == c.primaryKey && next.err == nil {
		c.ready.Store(true)
	}
	return next
}

func (c *Cache) beginFetch() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.fetches.Add(1)
	return true
}

func (c *Cache) load(key Key) *entry {
	if key == c.primaryKey {
		return c.primary.Load()
	}
	e, _ := c.others.Get(key)
	return e
}

func (c *Cache) store(key Key, e *entry) {
	if key == c.primaryKey {
		c.primary.Store(e)
		return
	}
	c.others.Add(key, e)
}

// Status is what /health tells about a secret: never its value.
type Status struct {
	FetchedAt     time.Time // zero if no value is cached
	VersionID     string
	LastErrorCode string // the last fetch's error, empty if it succeeded
}

// Status reports the cached state of key.
func (c *Cache) Status(key Key) Status {
	e := c.load(key.Normalize())
	if e == nil {
		return Status{}
	}
	var st Status
	if e.secret != nil {
		st.FetchedAt, st.VersionID = e.fetchedAt, e.secret.VersionID
	}
	if e.err != nil {
		st.LastErrorCode = e.err.Code
	}
	return st
}

// Len is the number of cached secret versions besides the primary.
func (c *Cache) Len() int { return c.others.Len() }

// Abort cancels fetches in flight and refuses new ones; requests waiting on
// a fetch get an error at once. Cached values stay readable.
func (c *Cache) Abort() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
}

// Close aborts, waits for fetches to end, and wipes every cached secret's
// bytes. Call it only after nothing reads from the cache any more.
func (c *Cache) Close() {
	c.Abort()
	c.fetches.Wait()
	if e := c.primary.Load(); e != nil && e.secret != nil {
		e.secret.Wipe()
	}
	for _, e := range c.others.Values() {
		if e.secret != nil {
			e.secret.Wipe()
		}
	}
	c.others.Purge()
}
