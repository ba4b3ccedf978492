// Package cache keeps secrets and parameters in memory and decides, per
// request, whether a cached value may be served, must be refetched, or may
// be served stale while upstream fails. How a value is read from AWS is
// package upstream's; when to read it is this package's.
//
// One upstream call at most is in flight per key: concurrent requests share
// it. Freshness is judged by the wall clock when a request arrives, never by
// timers, because Lambda freezes the process between invocations.
package cache

import (
	"cmp"
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// Source is where secret values come from: upstream.SecretsManager, or
// upstream.File. Errors should be classifiable by upstream.Classify.
type Source interface {
	GetSecretValue(ctx context.Context, key item.SecretKey) (*item.Value, error)
}

// BatchSource is a Source that also reads the current versions of many
// secrets in one call, upstream.SecretsManager: the split layout's slices
// at INIT. found and failed hold what the service answered for each key;
// err is the call's, which answered nothing.
type BatchSource interface {
	Source
	BatchGetSecretValue(ctx context.Context, keys []item.SecretKey) (found map[item.SecretKey]*item.Value, failed map[item.SecretKey]*item.Error, err error)
}

// ParameterSource is where Parameter Store values come from:
// upstream.ParameterStore.
type ParameterSource interface {
	// GetParameter reads one parameter.
	GetParameter(ctx context.Context, key item.ParameterKey) (*item.Value, error)
	// GetParameters reads up to item.MaxBatch parameters sharing
	// WithDecryption in one call; missing ones are absent from the answer.
	GetParameters(ctx context.Context, keys []item.ParameterKey) (map[item.ParameterKey]*item.Value, error)
	// GetParametersByPath reads one page of the parameters under
	// key.Path.
	GetParametersByPath(ctx context.Context, key item.PathKey) (*item.Value, error)
}

// Options configure a Cache. Source, Primary.ID and Secrets.FetchTimeout
// are required.
type Options struct {
	Source Source
	// Secrets are the rules for Secrets Manager's values.
	Secrets Rules
	// Primary is the Starfleet secret: parsed into slices, never evicted.
	Primary item.SecretKey
	// Size bounds how many other secret versions are kept (LRU).
	Size int
	// Now is the clock; nil means time.Now().Round(0), the wall clock alone.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, if set, counts hits, misses, stale answers and fetches.
	Metrics *metrics.Recorder
	// ParameterSource, if set, serves Parameter Store keys, under their
	// own rules, Parameters (the AWS layer configures them apart).
	ParameterSource ParameterSource
	Parameters      Rules
	// Sleep waits for d or until ctx ends; nil means a real timer. Tests
	// that move Now by hand pass one that moves it.
	Sleep func(ctx context.Context, d time.Duration) error
	// RetireAfter is how long a value the cache no longer holds (a
	// rotation replaced it, the LRU evicted it, a write dropped it) stays
	// intact before its bytes are wiped: longer than any reader holds a
	// Result, which for the server is its longest answer. Zero means
	// defaultRetireAfter.
	RetireAfter time.Duration
	// SlicePrefix, if set, is the split layout: each slice of Slices is
	// its own secret, SlicePrefix+slice, whose current version is parsed
	// as that one slice (see Result.Document), in Primary's scope.
	SlicePrefix string
	Slices      []string
}

// defaultRetireAfter outlasts any answer of the server at its default
// fetch timeout.
const defaultRetireAfter = time.Minute

// Rules are how one service's values are kept fresh and how long one read
// of them may take.
type Rules struct {
	Policy Policy
	// FetchTimeout bounds one upstream fetch, retries included.
	FetchTimeout time.Duration
}

// Cache is safe for concurrent use.
type Cache struct {
	secrets, parameters Rules
	src                 Source
	params              ParameterSource
	primaryKey          item.Key // boxed once: see Primary

	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	log     *slog.Logger
	metrics *metrics.Recorder
	etagKey []byte

	primary atomic.Pointer[entry]
	others  *expirable.LRU[item.Key, *entry]
	// retireAfter and afterFunc schedule the wipe of a value the cache
	// let go of; afterFunc is time.AfterFunc but in tests.
	retireAfter time.Duration
	afterFunc   func(time.Duration, func())
	layout      Layout
	initKeys    []item.Key // see InitKeys
	flights     singleflight.Group
	ready       atomic.Bool
	// writes counts Invalidate calls: a fetch that began before one
	// may have read what the write replaced, so its value is not kept.
	writes atomic.Uint64

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
	Value     *item.Value
	FetchedAt time.Time
	// Stale is set when the value is past its TTL and is served because
	// upstream fails transiently; StaleCause says how.
	Stale      bool
	StaleCause *item.Error

	doc    *Document
	docErr error
}

// Document returns the value parsed as a Starfleet document of slices, or
// why it is not one; only the primary secret is parsed, and in the split
// layout the current version of each slice's secret, as a document of that
// one slice. The error names the problem, never the content.
func (r Result) Document() (*Document, error) {
	if r.doc == nil && r.docErr == nil {
		return nil, &item.Error{Code: item.CodeNotJSONObject, Err: errors.New("the value was not parsed as a Starfleet document")}
	}
	return r.doc, r.docErr
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
	c := &Cache{
		secrets:    o.Secrets,
		parameters: o.Parameters,
		src:        o.Source,
		params:     o.ParameterSource,
		primaryKey: o.Primary.Normalize(),
		now:        now,
		sleep:      sleep,
		log:        log,
		metrics:    o.Metrics,
		etagKey:    []byte(cryptorand.Text()),
		// The LRU's own expiry only frees memory: by the time it drops an
		// entry, Policy would refuse to serve it anyway.
		background:  ctx,
		stop:        stop,
		retireAfter: cmp.Or(o.RetireAfter, defaultRetireAfter),
		layout:      newLayout(o.SlicePrefix, o.Slices, o.Primary.Scope),
		afterFunc:   func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
	c.initKeys = []item.Key{c.primaryKey}
	if c.layout.Split() {
		c.initKeys = c.layout.sliceKeys
	}
	c.others = expirable.NewLRU(max(o.Size, 1), c.retire,
		max(o.Secrets.Policy.TTL+o.Secrets.Policy.MaxStale, o.Parameters.Policy.TTL+o.Parameters.Policy.MaxStale))
	return c
}

// Layout is where the Starfleet secret's slices are kept.
func (c *Cache) Layout() Layout { return c.layout }

// InitKeys are what INIT warms, and an invoke refreshes when expired: the
// Starfleet secret, or in the split layout each slice's secret.
// The slice is the cache's own: callers must not change it.
func (c *Cache) InitKeys() []item.Key { return c.initKeys }

// noteLoaded marks the cache ready once key, just fetched, completes what
// INIT warms: the Starfleet secret, or in the split layout the last slice's
// secret still without a value.
func (c *Cache) noteLoaded(key item.Key) {
	if c.ready.Load() {
		return
	}
	switch {
	case !c.layout.Split():
		if key != c.primaryKey {
			return
		}
	case !c.slicesLoaded():
		return
	}
	c.ready.Store(true)
}

// slicesLoaded reports whether every slice of the split layout has a value.
func (c *Cache) slicesLoaded() bool {
	for _, k := range c.layout.sliceKeys {
		if e := c.peek(k); e == nil || e.value == nil {
			return false
		}
	}
	return true
}

// Primary is the key of the Starfleet secret, normalized. It is boxed in
// its interface once, at New, so that a Get of it allocates nothing: the
// hot path of every slice read.
func (c *Cache) Primary() item.Key { return c.primaryKey }

// Ready reports whether the Starfleet secret (in the split layout, every
// slice's secret) has been fetched successfully
// at least once.
func (c *Cache) Ready() bool { return c.ready.Load() }

// rulesFor are the rules that govern key: parameters have their own.
func (c *Cache) rulesFor(key item.Key) Rules {
	if _, ok := key.(item.SecretKey); ok {
		return c.secrets
	}
	return c.parameters
}

// Get answers a request for key. force asks for a fresh upstream read,
// rate-limited by Policy.ForceInterval. Errors are *item.Error, or
// ctx's error when the caller gave up first.
func (c *Cache) Get(ctx context.Context, key item.Key, force bool) (Result, error) {
	key = item.Normalize(key)
	if force {
		return c.getForced(ctx, key)
	}
	policy := c.rulesFor(key).Policy
	e := c.load(key)
	switch policy.Decide(e, c.now(), false) {
	case ServeFresh:
		// Written once: a store on every read would take the entry's cache
		// line from every other core reading it.
		if !e.read.Load() {
			e.read.Store(true)
		}
		c.metrics.Hit()
		return e.result(), nil
	case ServeStale:
		c.metrics.Stale()
		return e.staleResult(), nil
	case ServeStaleAndRefresh:
		c.startRefresh(key, modeNormal)
		c.metrics.Stale()
		return e.staleResult(), nil
	case FailFast:
		if Negative(e.err) {
			c.metrics.NegativeHit()
		}
		return Result{}, e.err
	}
	return c.waitRefresh(ctx, key, e, policy)
}

// waitRefresh joins the refresh of key and answers with its result. A
// request that could be served the expired value e waits at most
// Policy.RefreshWait, then gets e, marked stale, while the fetch goes on.
func (c *Cache) waitRefresh(ctx context.Context, key item.Key, e *entry, policy Policy) (Result, error) {
	ch := c.startRefresh(key, modeNormal)
	var slow <-chan time.Time
	if policy.RefreshWait > 0 && e != nil && e.value != nil && !e.superseded && policy.Servable(e.fetchedAt, c.now()) {
		timer := time.NewTimer(policy.RefreshWait)
		defer timer.Stop()
		slow = timer.C
	}
	select {
	case r := <-ch:
		return c.countAnswer(c.answer(key, r.Val.(*entry)))
	case <-slow:
		c.metrics.Stale()
		res := e.staleResult()
		res.StaleCause = &item.Error{Code: item.CodeRefreshSlow, Transient: true, Err: errors.New("the refresh is taking long; the previous value is served meanwhile")}
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// countAnswer counts an answer that waited on a fetch: stale, or a miss
// whether the fetch succeeded or not.
func (c *Cache) countAnswer(res Result, err error) (Result, error) {
	if res.Stale {
		c.metrics.Stale()
	} else {
		c.metrics.Miss()
	}
	return res, err
}

// getForced answers a request that asked for a fresh read with a value
// fetched after it arrived. Forced reads of one key call upstream at most
// once per ForceInterval: a request arriving inside that interval waits for
// the next allowed fetch and shares it, rather than receiving an older
// value.
func (c *Cache) getForced(ctx context.Context, key item.Key) (Result, error) {
	arrived := c.now()
	for {
		var r singleflight.Result
		select {
		case r = <-c.startRefresh(key, modeForced):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		e := r.Val.(*entry)
		if !e.attemptAt.Before(arrived) || (e.err != nil && e.err.Code == item.CodeShuttingDown) {
			return c.countAnswer(c.answer(key, e))
		}
		// The flight began before this request arrived, or the interval
		// refused a call: wait for the next allowed one.
		wait := c.rulesFor(key).Policy.ForceInterval - c.now().Sub(e.attemptAt)
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

// RefreshIfExpired starts a fetch in the background when key's value is not
// fresh, so that the handler's request, a moment later, finds it done or
// joins it. It is what INVOKE triggers.
func (c *Cache) RefreshIfExpired(key item.Key) {
	key = item.Normalize(key)
	e := c.load(key)
	if e != nil && e.value != nil && !e.superseded && c.rulesFor(key).Policy.Fresh(e.fetchedAt, c.now()) {
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
func (c *Cache) startRefresh(key item.Key, mode fetchMode) <-chan singleflight.Result {
	return c.flights.DoChan(c.flightKey(key), func() (any, error) { return c.refresh(key, mode), nil })
}

// flightKey is the single flight of key since the last Invalidate: a
// read after a write never joins a fetch that began before it.
func (c *Cache) flightKey(k item.Key) string {
	return flightKey(k) + "\x00" + strconv.FormatUint(c.writes.Load(), 10)
}

// flightKey is key as the single flight's string key: every field, the
// role included, so that reads under two roles never share a fetch.
func flightKey(k item.Key) string {
	scope := item.ScopeOf(k)
	where := "\x00" + scope.RoleARN + "\x00" + scope.Region
	switch k := k.(type) {
	case item.PathKey:
		return "path\x00" + k.Path + "\x00" + strconv.FormatBool(k.Recursive) + "\x00" + strconv.FormatBool(k.WithDecryption) +
			"\x00" + strconv.Itoa(int(k.PageSize)) + "\x00" + k.PageToken + where
	case item.ParameterKey:
		return "ssm\x00" + k.Name + "\x00" + strconv.FormatBool(k.WithDecryption) + where
	case item.SecretKey:
		return k.ID + "\x00" + k.VersionID + "\x00" + k.VersionStage + where
	}
	panic(fmt.Sprintf("cache: a key of type %T", k))
}

// RefreshAhead keeps the values requests read fresh in the background until
// ctx ends, each refetched between 75 and 90 % of its TTL (the Starfleet
// secret always, others once read since their last fetch). It is for an
// environment that is never frozen and serves many readers at once (Lambda
// Managed Instances), where timers run: no read then waits on a refresh.
// Under the freeze of the other models a timer could fire only while an
// invoke runs, so they refresh on demand instead.
func (c *Cache) RefreshAhead(ctx context.Context) {
	period := c.secrets.Policy.TTL / 20
	if c.params != nil && c.parameters.Policy.TTL > 0 {
		period = min(c.secrets.Policy.TTL, c.parameters.Policy.TTL) / 20
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
func (c *Cache) RefreshDue() {
	now := c.now()
	var flights []<-chan singleflight.Result
	if e := c.primary.Load(); c.secrets.Policy.ShouldRefreshAhead(e, now) {
		flights = append(flights, c.startRefresh(c.primaryKey, modeAhead))
	}
	for _, key := range c.others.Keys() {
		// Peek, not Get: looking must not make an entry recently used.
		if e, ok := c.others.Peek(key); ok && e.read.Load() && c.rulesFor(key).Policy.ShouldRefreshAhead(e, now) {
			flights = append(flights, c.startRefresh(key, modeAhead))
		}
	}
	for _, f := range flights {
		<-f
	}
}

// answer turns the entry a flight produced for key into the caller's result.
func (c *Cache) answer(key item.Key, e *entry) (Result, error) {
	if e.err == nil {
		return e.result(), nil
	}
	if e.value != nil && e.err.Transient && c.rulesFor(key).Policy.Servable(e.fetchedAt, c.now()) {
		return e.staleResult(), nil
	}
	return Result{}, e.err
}

// errShuttingDown is the answer of a fetch the cache's closing refused or
// cut off.
func errShuttingDown(transient bool) *item.Error {
	return &item.Error{Code: item.CodeShuttingDown, Transient: transient, Err: errors.New("the extension is shutting down")}
}

// refresh runs inside the single flight for key: at most one per key at a
// time, so its read-modify-write of the entry cannot race another.
func (c *Cache) refresh(key item.Key, mode fetchMode) *entry {
	if !c.beginFetch() {
		return &entry{err: errShuttingDown(false)}
	}
	defer c.fetches.Done()
	prev := c.load(key)
	policy := c.rulesFor(key).Policy
	started := c.now()
	writes := c.writes.Load()
	call := policy.ShouldCallUpstream(prev, started, mode == modeForced)
	if mode == modeAhead {
		call = policy.ShouldRefreshAhead(prev, started)
	}
	if !call {
		return prev
	}
	var value *item.Value
	elapsed, err := c.timed(key.Service(), c.rulesFor(key).FetchTimeout, func(ctx context.Context) (err error) {
		value, err = c.fetch(ctx, key)
		return err
	})
	next := c.settle(key, prev, value, err, started)
	attrs := key.LogAttrs()
	switch {
	case err == nil:
		attrs = append(attrs, "version_id", value.VersionID)
	case err.Code != item.CodeShuttingDown:
		attrs = append(attrs, "failures", next.failures, "retry_in_ms", next.retryAt.Sub(started).Milliseconds())
	}
	c.logFetch(attrs, elapsed, err)
	if err != nil && err.Code == item.CodeShuttingDown || c.writes.Load() != writes {
		// A write through the extension may have replaced what this
		// fetch read: its waiters get it, later reads fetch again.
		return next
	}
	c.store(key, next)
	if err == nil {
		c.noteLoaded(key)
	}
	return next
}

// settle is the entry that follows a fetch of key that started at started
// and answered value or err.
func (c *Cache) settle(key item.Key, prev *entry, value *item.Value, err *item.Error, started time.Time) *entry {
	switch {
	case err != nil && err.Code == item.CodeShuttingDown:
		// Not an upstream fault, so not remembered as one: waiting
		// requests get the previous value while it is servable.
		aborted := &entry{attemptAt: started, err: err}
		if prev != nil {
			aborted.keep(prev)
		}
		return aborted
	case err != nil:
		return c.rulesFor(key).Policy.afterFailure(prev, err, started)
	}
	next := newEntry(value, c.now(), started)
	if key == c.primaryKey {
		next.doc, next.docErr = newDocument(value, c.etagKey)
	} else if slice, ok := c.layout.sliceOf(key); ok {
		next.doc, next.docErr = newSliceDocument(slice, value, c.etagKey)
	}
	return next
}

// timed runs one upstream read of service within timeout and counts it. Its error is classified; a read cut off by
// shutdown is CodeShuttingDown, and not counted as an upstream failure.
func (c *Cache) timed(service string, timeout time.Duration, read func(context.Context) error) (time.Duration, *item.Error) {
	ctx, cancel := context.WithTimeout(c.background, timeout)
	defer cancel()
	started := c.now()
	err := read(ctx)
	elapsed := c.now().Sub(started)
	switch {
	case err != nil && c.background.Err() != nil:
		return elapsed, errShuttingDown(true)
	case err != nil:
		uerr := upstream.Classify(service, err)
		c.metrics.Fetch(elapsed, uerr.Code)
		return elapsed, uerr
	}
	c.metrics.Fetch(elapsed, "")
	return elapsed, nil
}

// logFetch logs the outcome of one upstream read, described by attrs.
func (c *Cache) logFetch(attrs []any, elapsed time.Duration, err *item.Error) {
	attrs = append(attrs, "event", "upstream_fetch", "duration_ms", elapsed.Milliseconds())
	switch {
	case err == nil:
		c.log.Info("upstream fetch", append(attrs, "status", "ok")...)
	case err.Code == item.CodeShuttingDown:
		c.log.Info("upstream fetch aborted by shutdown", append(attrs, "status", "aborted")...)
	default:
		c.log.Warn("upstream fetch failed", append(attrs, "status", "error",
			"aws_error_code", err.Code, "transient", err.Transient, "error", err.Err.Error())...)
	}
}

// fetch makes one upstream read of key.
func (c *Cache) fetch(ctx context.Context, key item.Key) (*item.Value, error) {
	if k, ok := key.(item.SecretKey); ok {
		return c.src.GetSecretValue(ctx, k)
	}
	if c.params == nil {
		return nil, &item.Error{Code: item.CodeNotConfigured, Err: errors.New("no Parameter Store source: the extension serves a local file")}
	}
	switch k := key.(type) {
	case item.PathKey:
		return c.params.GetParametersByPath(ctx, k)
	case item.ParameterKey:
		return c.params.GetParameter(ctx, k)
	}
	panic(fmt.Sprintf("cache: a key of type %T", key))
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

func (c *Cache) load(key item.Key) *entry {
	if key == c.primaryKey {
		return c.primary.Load()
	}
	e, _ := c.others.Get(key)
	return e
}

func (c *Cache) store(key item.Key, e *entry) {
	var old *entry
	if key == c.primaryKey {
		old = c.primary.Swap(e)
	} else {
		old, _ = c.others.Peek(key)
		c.others.Add(key, e) // replacing calls no eviction callback
	}
	if old != nil && old.value != e.value {
		c.retire(key, old)
	}
}

// retire wipes the bytes of e, which the cache let go of for key, once no
// reader can still hold them: after retireAfter, and only if key's entry
// does not hold that value again (an entry that failed to refresh keeps
// its predecessor's). The LRU calls it for every entry it drops.
func (c *Cache) retire(key item.Key, e *entry) {
	if e == nil || e.value == nil {
		return
	}
	c.afterFunc(c.retireAfter, func() {
		if cur := c.peek(key); cur != nil && cur.value == e.value {
			return
		}
		e.wipe()
	})
}

// peek is key's entry without touching the LRU's order.
func (c *Cache) peek(key item.Key) *entry {
	if key == c.primaryKey {
		return c.primary.Load()
	}
	e, _ := c.others.Peek(key)
	return e
}

// Invalidate drops every cached value stale says a write made stale, and
// keeps a fetch already in flight from storing what it read, or being
// joined: a function reads its own writes, in every execution model. The
// Starfleet secret is not dropped but superseded: the next read waits for
// a fetch, and gets the old value, marked stale, only if upstream fails.
func (c *Cache) Invalidate(stale func(item.Key, *item.Value) bool) {
	c.writes.Add(1)
	if e := c.primary.Load(); e != nil && e.value != nil && stale(c.primaryKey, e.value) {
		c.primary.Store(e.supersede())
	}
	for _, key := range c.others.Keys() {
		if e, ok := c.others.Peek(key); ok && (e.value == nil || stale(key, e.value)) {
			c.others.Remove(key)
		}
	}
}

// Status is what /health tells about a secret: never its value.
type Status struct {
	FetchedAt     time.Time // zero if no value is cached
	VersionID     string
	LastErrorCode string // the last fetch's error, empty if it succeeded
}

// Status reports the cached state of key.
func (c *Cache) Status(key item.Key) Status {
	e := c.load(item.Normalize(key))
	if e == nil {
		return Status{}
	}
	var st Status
	if e.value != nil {
		st.FetchedAt, st.VersionID = e.fetchedAt, e.value.VersionID
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

// Close aborts, waits for fetches to end, and wipes every cached value's
// bytes. Call it only after nothing reads from the cache any more.
func (c *Cache) Close() {
	c.Abort()
	c.fetches.Wait()
	if e := c.primary.Load(); e != nil {
		e.wipe()
	}
	for _, e := range c.others.Values() {
		e.wipe()
	}
	c.others.Purge()
}
