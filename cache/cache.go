// Package cache keeps secrets from AWS Secrets Manager (or a local file) and
// parameters from Parameter Store in memory and decides, per request,
// whether a cached value may be served, must be refetched, or may be served
// stale while upstream fails.
//
// One upstream call at most is in flight per secret version: concurrent
// requests share it. Freshness is judged by the wall clock when a request
// arrives, never by timers, because Lambda freezes the process between
// invocations.
package cache

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
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
	// Parameters, if set, serves Parameter Store keys, under their own
	// policy and fetch timeout (the AWS layer configures them apart).
	Parameters            ParameterSource
	ParameterPolicy       Policy
	ParameterFetchTimeout time.Duration
	// Sleep waits for d or until ctx ends; nil means a real timer. Tests
	// that move Now by hand pass one that moves it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Cache is safe for concurrent use.
type Cache struct {
	src          Source
	policy       Policy
	fetchTimeout time.Duration
	params       ParameterSource
	paramPolicy  Policy
	paramTimeout time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
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
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepFor
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Cache{
		src:          o.Source,
		policy:       o.Policy,
		fetchTimeout: o.FetchTimeout,
		params:       o.Parameters,
		paramPolicy:  o.ParameterPolicy,
		paramTimeout: o.ParameterFetchTimeout,
		sleep:        sleep,
		primaryKey:   o.Primary.Normalize(),
		now:          now,
		log:          log,
		metrics:      o.Metrics,
		etagKey:      []byte(cryptorand.Text()),
		// The LRU's own expiry only frees memory: by the time it drops an
		// entry, Policy would refuse to serve it anyway.
		others: expirable.NewLRU[Key, *entry](max(o.Size, 1), nil,
			max(o.Policy.TTL+o.Policy.MaxStale, o.ParameterPolicy.TTL+o.ParameterPolicy.MaxStale)),
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
	if force {
		return c.getForced(ctx, key)
	}
	policy := c.policyFor(key)
	e := c.load(key)
	switch policy.Decide(e, c.now(), false) {
	case ServeFresh:
		e.read.Store(true)
		c.metrics.Hit()
		return Result{Secret: e.secret, FetchedAt: e.fetchedAt}, nil
	case ServeStale:
		c.metrics.Stale()
		return staleResult(e), nil
	case ServeStaleAndRefresh:
		c.startRefresh(key, modeNormal)
		c.metrics.Stale()
		return staleResult(e), nil
	case FailFast:
		return Result{}, e.err
	}
	ch := c.startRefresh(key, modeNormal)
	var slow <-chan time.Time
	if policy.RefreshWait > 0 && e != nil && e.secret != nil && policy.Servable(e.fetchedAt, c.now()) {
		timer := time.NewTimer(policy.RefreshWait)
		defer timer.Stop()
		slow = timer.C
	}
	select {
	case r := <-ch:
		res, err := c.answer(key, r.Val.(*entry))
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

// getForced answers a request that asked for a fresh read with a value
// fetched after it arrived. Forced reads of one key call upstream at most
// once per ForceInterval: a request arriving inside that interval waits for
// the next allowed fetch and shares it, rather than receiving an older
// value.
func (c *Cache) getForced(ctx context.Context, key Key) (Result, error) {
	arrived := c.now()
	for {
		var r singleflight.Result
		select {
		case r = <-c.startRefresh(key, modeForced):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		e := r.Val.(*entry)
		if !e.attemptAt.Before(arrived) || (e.err != nil && e.err.Code == CodeShuttingDown) {
			res, err := c.answer(key, e)
			if res.Stale {
				c.metrics.Stale()
			} else if err == nil {
				c.metrics.Miss()
			}
			return res, err
		}
		// The flight began before this request arrived, or the interval
		// refused a call: wait for the next allowed one.
		wait := c.policyFor(key).ForceInterval - c.now().Sub(e.attemptAt)
		if err := c.sleep(ctx, max(wait, time.Millisecond)); err != nil {
			return Result{}, err
		}
	}
}

func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// policyFor is the policy that governs key: parameters have their own.
func (c *Cache) policyFor(key Key) Policy {
	if key.IsParameter() {
		return c.paramPolicy
	}
	return c.policy
}

// RefreshIfExpired starts a fetch in the background when key's value is not
// fresh, so that the handler's request, a moment later, finds it done or
// joins it. It is what INVOKE triggers.
func (c *Cache) RefreshIfExpired(key Key) {
	key = key.Normalize()
	e := c.load(key)
	if e != nil && e.secret != nil && c.policyFor(key).Fresh(e.fetchedAt, c.now()) {
		return
	}
	c.startRefresh(key, modeNormal)
}

// fetchMode is why a flight runs: a request's miss, a forced read, or the
// background refresh ahead of expiry.
type fetchMode int

const (
	modeNormal fetchMode = iota
	modeForced
	modeAhead
)

// startRefresh joins the fetch in flight for key, or starts one. Callers
// that do not wait may drop the channel: it is buffered.
func (c *Cache) startRefresh(key Key, mode fetchMode) <-chan singleflight.Result {
	return c.flights.DoChan(key.flightKey(), func() (any, error) { return c.refresh(key, mode), nil })
}

// RefreshAhead keeps the values requests read fresh in the background until
// ctx ends, each refetched between 75 and 90 % of its TTL (the Starfleet
// secret always, others once read since their last fetch). It is for an
// environment that is never frozen and serves many readers at once (Lambda
// Managed Instances), where timers run: no read then waits on a refresh.
// Under the freeze of the other models a timer could fire only while an
// invoke runs, so they refresh on demand instead.
func (c *Cache) RefreshAhead(ctx context.Context) {
	period := min(c.policy.TTL, c.paramPolicy.TTL) / 20
	if c.params == nil || c.paramPolicy.TTL <= 0 {
		period = c.policy.TTL / 20
	}
	ticker := time.NewTicker(min(max(period, 20*time.Millisecond), time.Second))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.background.Done():
			return
		case <-ticker.C:
			c.RefreshDue()
		}
	}
}

// RefreshDue refreshes every value due now, all at once, and returns when
// they are done; a caller with its own clock (a simulation) drives it
// instead of RefreshAhead.
func (c *Cache) RefreshDue() { c.refreshDue(c.now()) }

// refreshDue refreshes every value due at now and waits for them.
func (c *Cache) refreshDue(now time.Time) {
	var flights []<-chan singleflight.Result
	if e := c.primary.Load(); c.policy.ShouldRefreshAhead(e, now) {
		flights = append(flights, c.startRefresh(c.primaryKey, modeAhead))
	}
	for _, key := range c.others.Keys() {
		// Peek, not Get: looking must not make an entry recently used.
		if e, ok := c.others.Peek(key); ok && e.read.Load() && c.policyFor(key).ShouldRefreshAhead(e, now) {
			flights = append(flights, c.startRefresh(key, modeAhead))
		}
	}
	for _, f := range flights {
		<-f
	}
}

// answer turns the entry a flight produced for key into the caller's result.
func (c *Cache) answer(key Key, e *entry) (Result, error) {
	if e.err == nil {
		return Result{Secret: e.secret, FetchedAt: e.fetchedAt}, nil
	}
	if e.secret != nil && e.err.Transient && c.policyFor(key).Servable(e.fetchedAt, c.now()) {
		return staleResult(e), nil
	}
	return Result{}, e.err
}

func staleResult(e *entry) Result {
	return Result{Secret: e.secret, FetchedAt: e.fetchedAt, Stale: true, StaleCause: e.err}
}

// refresh runs inside the single flight for key: at most one per key at a
// time, so its read-modify-write of the entry cannot race another.
func (c *Cache) refresh(key Key, mode fetchMode) *entry {
	if !c.beginFetch() {
		return &entry{err: &UpstreamError{Code: CodeShuttingDown, Err: errors.New("the extension is shutting down")}}
	}
	prev := c.load(key)
	defer c.fetches.Done()

	policy := c.policyFor(key)
	started := c.now()
	call := policy.ShouldCallUpstream(prev, started, mode == modeForced)
	if mode == modeAhead {
		call = policy.ShouldRefreshAhead(prev, started)
	}
	if !call {
		return prev
	}
	sec, err := c.fetch(key)
	finished := c.now()
	elapsed := finished.Sub(started)

	var next *entry
	if err != nil && c.background.Err() != nil {
		// Shutdown cut the fetch off: not an upstream fault, so it is
		// neither counted nor remembered as one. Waiting requests get the
		// previous value while it is servable.
		c.log.Info("upstream fetch aborted by shutdown", append(key.logAttrs(),
			"event", "upstream_fetch", "status", "aborted", "duration_ms", elapsed.Milliseconds())...)
		aborted := &entry{attemptAt: started, err: &UpstreamError{Code: CodeShuttingDown, Transient: true, Err: errors.New("the extension is shutting down")}}
		if prev != nil {
			aborted.secret, aborted.fetchedAt = prev.secret, prev.fetchedAt
		}
		return aborted
	}
	if err != nil {
		uerr := Classify(err)
		c.metrics.Fetch(elapsed, uerr.Code)
		next = policy.afterFailure(prev, uerr, started)
		c.log.Warn("upstream fetch failed", append(key.logAttrs(),
			"event", "upstream_fetch", "status", "error",
			"aws_error_code", uerr.Code, "transient", uerr.Transient, "failures", next.failures,
			"retry_in_ms", next.retryAt.Sub(started).Milliseconds(),
			"duration_ms", elapsed.Milliseconds(), "error", uerr.Err.Error())...)
	} else {
		if key == c.primaryKey {
			sec.parseDocument(c.etagKey)
		}
		next = &entry{secret: sec, fetchedAt: finished, attemptAt: started, aheadJitter: rand.Float64()}
		c.metrics.Fetch(elapsed, "")
		c.log.Info("upstream fetch", append(key.logAttrs(),
			"event", "upstream_fetch", "status", "ok",
			"version_id", sec.VersionID, "duration_ms", elapsed.Milliseconds())...)
	}
	c.store(key, next)
	if key == c.primaryKey && next.err == nil {
		c.ready.Store(true)
	}
	return next
}

// fetch makes one upstream read of key, bounded by its kind's timeout.
func (c *Cache) fetch(key Key) (*Secret, error) {
	if key.IsParameter() {
		if c.params == nil {
			return nil, &UpstreamError{Code: CodeNotConfigured, Err: errors.New("no Parameter Store source: the extension serves a local file")}
		}
		ctx, cancel := context.WithTimeout(c.background, c.paramTimeout)
		defer cancel()
		return c.params.GetParameter(ctx, key)
	}
	ctx, cancel := context.WithTimeout(c.background, c.fetchTimeout)
	defer cancel()
	return c.src.GetSecretValue(ctx, key)
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

// prefetchConcurrency bounds the secrets fetched at once by Prefetch.
const prefetchConcurrency = 4

// Prefetch warms keys, returning once every fetch has settled; the error
// joins what failed. Secrets are read one GetSecretValue each (its quota,
// 10,000 a second, is the generous one), a few at a time. Parameters are
// read in GetParameters calls of up to MaxBatch names sharing
// WithDecryption, because Parameter Store's throughput quota counts calls
// and is shared by every Get call of the account: a fleet of cold starts
// must not throttle itself. References to Secrets Manager are read one by
// one, as GetParameters does not take them.
func (c *Cache) Prefetch(ctx context.Context, keys []Key) error {
	var (
		mu     sync.Mutex
		errs   []error
		wg     sync.WaitGroup
		slots  = make(chan struct{}, prefetchConcurrency)
		report = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		}
	)
	single := func(key Key) {
		defer func() { <-slots }()
		if _, err := c.Get(ctx, key, false); err != nil {
			report(fmt.Errorf("%s: %w", key.describe(), err))
		}
	}
	var batches [2][]Key // by WithDecryption
	for _, key := range keys {
		key = key.Normalize()
		switch {
		case !key.IsParameter() || IsReference(key.Parameter) || c.params == nil:
			slots <- struct{}{}
			wg.Go(func() { single(key) })
		case key.WithDecryption:
			batches[1] = append(batches[1], key)
		default:
			batches[0] = append(batches[0], key)
		}
	}
	for _, batch := range batches {
		for start := 0; start < len(batch); start += MaxBatch {
			chunk := batch[start:min(start+MaxBatch, len(batch))]
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				if err := c.prefetchParameters(chunk); err != nil {
					report(err)
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prefetchParameters reads keys in one GetParameters call and stores what
// it found, unless a request's own fetch stored something newer meanwhile.
func (c *Cache) prefetchParameters(keys []Key) error {
	if !c.beginFetch() {
		return &UpstreamError{Code: CodeShuttingDown, Err: errors.New("the extension is shutting down")}
	}
	defer c.fetches.Done()
	ctx, cancel := context.WithTimeout(c.background, c.paramTimeout)
	defer cancel()
	started := c.now()
	found, err := c.params.GetParameters(ctx, keys)
	finished := c.now()
	elapsed := finished.Sub(started)
	if err != nil {
		uerr := Classify(err)
		c.metrics.Fetch(elapsed, uerr.Code)
		c.log.Warn("upstream fetch failed", "event", "upstream_fetch", "parameters", len(keys), "status", "error",
			"aws_error_code", uerr.Code, "duration_ms", elapsed.Milliseconds(), "error", uerr.Err.Error())
		return fmt.Errorf("GetParameters of %d parameters: %w", len(keys), uerr)
	}
	c.metrics.Fetch(elapsed, "")
	c.log.Info("upstream fetch", "event", "upstream_fetch", "parameters", len(keys), "found", len(found), "status", "ok",
		"duration_ms", elapsed.Milliseconds())
	var missing []string
	for _, key := range keys {
		sec, ok := found[key]
		if !ok {
			missing = append(missing, key.Parameter)
			continue
		}
		c.flights.Do(key.flightKey(), func() (any, error) {
			if prev := c.load(key); prev == nil || prev.attemptAt.Before(started) {
				c.store(key, &entry{secret: sec, fetchedAt: finished, attemptAt: started, aheadJitter: rand.Float64()})
			}
			return nil, nil
		})
	}
	if len(missing) > 0 {
		return fmt.Errorf("no parameter %s in Parameter Store", strings.Join(missing, ", "))
	}
	return nil
}
