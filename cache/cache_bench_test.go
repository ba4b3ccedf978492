package cache_test

// Benchmarks and economy checks (`make bench`): the cache's hit
// path, the fetch path's CPU cost, document parsing, and how many upstream
// calls the cache makes under load. The tests here also run in `make test`,
// so a regression in the upstream economy or the hit path's allocations fails
// CI; the figures they log ("figure name=value") are collected by
// bench/cmd/benchrun for bench/REPORT.md.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/cache/cachetest"
	"github.com/starfleet/starfleet-secrets/item"
)

const benchSecretFile = "../testdata/starfleet-secret.json"

var benchPrimary = item.SecretKey{ID: "Starfleet"}

// benchSecret returns the testdata Starfleet secret.
func benchSecret(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile(benchSecretFile)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// countingSource answers at once with the testdata secret, a new version per
// call, and counts the calls. With gate set, calls block until it is closed;
// entered receives once per call.
type countingSource struct {
	raw     []byte
	calls   atomic.Int64
	gate    chan struct{}
	entered chan struct{}
}

func (s *countingSource) GetSecretValue(ctx context.Context, key item.SecretKey) (*item.Value, error) {
	n := s.calls.Add(1)
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// A copy per call: the cache keeps slices of it and wipes it at Close.
	return &item.Value{Name: key.ID, VersionID: fmt.Sprintf("v%d", n), Text: append([]byte(nil), s.raw...)}, nil
}

// productPolicy is the policy the program builds with its default
// staleness and fetch timeout, and ttl; refreshAhead as where nothing
// freezes the process.
func productPolicy(ttl time.Duration, refreshAhead bool) cache.Policy {
	return cache.NewPolicy(cache.Limits{TTL: ttl, MaxStale: 15 * time.Minute, NegativeTTL: min(5*time.Second, ttl), FetchTimeout: 5 * time.Second}, refreshAhead)
}

func newBenchCache(tb testing.TB, src cache.Source, ttl time.Duration, now func() time.Time) *cache.Cache {
	tb.Helper()
	c := cache.New(cache.Options{Source: src, Secrets: cache.Rules{Policy: productPolicy(ttl, false), FetchTimeout: 5 * time.Second}, Primary: benchPrimary, Size: 16, Now: now})
	tb.Cleanup(c.Close)
	return c
}

// warmCache returns a cache holding the testdata secret, fresh for an hour
// by the real wall clock.
func warmCache(tb testing.TB) *cache.Cache {
	tb.Helper()
	c := newBenchCache(tb, &countingSource{raw: benchSecret(tb)}, time.Hour, nil)
	if _, err := c.Get(context.Background(), benchPrimary, false); err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkGetFreshPrimary is the cache's part of every warm read: a Get that
// finds the Starfleet secret fresh. It must not allocate.
func BenchmarkGetFreshPrimary(b *testing.B) {
	c := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, c.Primary(), false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetFreshPrimaryParallel is the same Get from every core at once,
// as concurrent warm reads make it: a write to shared state on this path
// shows here as a cost the single-threaded benchmark does not see.
func BenchmarkGetFreshPrimaryParallel(b *testing.B) {
	c := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, c.Primary(), false); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetRefresh is the fetch path without the network: TTL 0 makes
// every Get call the (instant) source, then parse the document and derive
// the ETags.
func BenchmarkGetRefresh(b *testing.B) {
	c := newBenchCache(b, &countingSource{raw: benchSecret(b)}, 0, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, c.Primary(), false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseDocument parses the testdata secret the way the cache does
// after each fetch (without the ETags; BenchmarkGetRefresh includes them).
func BenchmarkParseDocument(b *testing.B) {
	raw := benchSecret(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := cache.ParseDocument(raw)
		if err != nil || doc.Len() == 0 {
			b.Fatal(doc, err)
		}
	}
}

// BenchmarkParseDocumentBaseline is the naive parse, encoding/json into a
// map of raw messages (no duplicate-key check, no object slices split): the
// baseline ParseDocument is compared with.
func BenchmarkParseDocumentBaseline(b *testing.B) {
	raw := benchSecret(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
			b.Fatal(err)
		}
	}
}

// TestUpstreamCallsInSimulatedHour steps a fake wall clock through an hour of
// steady traffic at TTL 60 s (an INVOKE and four concurrent reads every
// 250 ms, as main wires them) and counts the source's calls: one at start and
// one per expiry, 61 in all.
func TestUpstreamCallsInSimulatedHour(t *testing.T) {
	const (
		ttl     = 60 * time.Second
		step    = 250 * time.Millisecond
		span    = time.Hour
		perStep = 4
	)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := cachetest.NewClock(start)
	src := &countingSource{raw: benchSecret(t)}
	c := newBenchCache(t, src, ttl, clock.Now)
	ctx := t.Context()

	var requests, failed atomic.Int64
	for elapsed := time.Duration(0); elapsed <= span; elapsed += step {
		c.RefreshIfExpired(c.Primary())
		var wg sync.WaitGroup
		for range perStep {
			wg.Go(func() {
				requests.Add(1)
				if res, err := c.Get(ctx, benchPrimary, false); err != nil || res.Stale {
					failed.Add(1)
				}
			})
		}
		// Every Get has returned only once the flight it joined (or the
		// one whose result it read) has stored its entry, so the next step
		// sees that entry.
		wg.Wait()
		clock.Advance(step)
	}
	calls := src.calls.Load()
	t.Logf("figure upstream_calls_hour=%d requests_hour=%d", calls, requests.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d reads failed or were stale", n)
	}
	if want := int64(span/ttl) + 1; calls > want {
		t.Errorf("upstream calls in a simulated hour at TTL %v = %d, want at most %d", ttl, calls, want)
	}
}

// TestManagedInstancesEconomyInSimulatedHour compares, over a simulated
// hour at TTL 60 s, the upstream calls of 8 worker processes (Managed
// Instances' Python runtime runs one per concurrent request) reading every
// 250 ms through one shared extension, which refreshes ahead of expiry,
// with those of 8 in-process caches, one per worker (Powertools-style).
func TestManagedInstancesEconomyInSimulatedHour(t *testing.T) {
	const (
		ttl     = 60 * time.Second
		step    = 250 * time.Millisecond
		span    = time.Hour
		workers = 8
	)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ctx := t.Context()
	simulate := func(caches []*cache.Cache, clock *cachetest.Clock, background bool) (reads, waited int64) {
		for elapsed := time.Duration(0); elapsed <= span; elapsed += step {
			if background {
				caches[0].RefreshDue()
			}
			var wg sync.WaitGroup
			var n, slow atomic.Int64
			for w := range workers {
				c := caches[w%len(caches)]
				wg.Go(func() {
					n.Add(1)
					res, err := c.Get(ctx, benchPrimary, false)
					if err != nil || res.Stale {
						slow.Add(1)
					}
				})
			}
			wg.Wait()
			reads, waited = reads+n.Load(), waited+slow.Load()
			clock.Advance(step)
		}
		return reads, waited
	}

	// One extension: the background refresh keeps the value fresh.
	sharedClock := cachetest.NewClock(start)
	shared := &countingSource{raw: benchSecret(t)}
	policy := productPolicy(ttl, true)
	ext := cache.New(cache.Options{Source: shared, Secrets: cache.Rules{Policy: policy, FetchTimeout: 5 * time.Second}, Primary: benchPrimary, Size: 16, Now: sharedClock.Now})
	t.Cleanup(ext.Close)
	if _, err := ext.Get(ctx, benchPrimary, false); err != nil {
		t.Fatal(err)
	}
	reads, stale := simulate([]*cache.Cache{ext}, sharedClock, true)
	// Eight processes, eight caches, each fetching when its copy expires.
	ownClock := cachetest.NewClock(start)
	own := &countingSource{raw: benchSecret(t)}
	var perWorker []*cache.Cache
	for range workers {
		perWorker = append(perWorker, newBenchCache(t, own, ttl, ownClock.Now))
	}
	simulate(perWorker, ownClock, false)

	t.Logf("figure mi_calls_hour_shared=%d mi_calls_hour_in_process=%d mi_reads_hour=%d mi_stale_hour=%d",
		shared.calls.Load(), own.calls.Load(), reads, stale)
	if stale > 0 {
		t.Errorf("%d reads met an expired value: the background refresh came late", stale)
	}
	// Between 75 and 90 % of the TTL: at most one call per 45 s.
	if most := int64(span/(ttl*3/4)) + 2; shared.calls.Load() > most {
		t.Errorf("%d calls for the shared extension, want at most %d", shared.calls.Load(), most)
	}
	if shared.calls.Load()*4 > own.calls.Load() {
		t.Errorf("shared %d calls against %d for in-process caches: not the saving expected", shared.calls.Load(), own.calls.Load())
	}
}

// TestUpstreamCallsFor500ConcurrentAtExpiry sends 500 concurrent reads at the
// moment the Starfleet secret expires, holding the upstream call until every
// reader has started: exactly one upstream call serves them all.
func TestUpstreamCallsFor500ConcurrentAtExpiry(t *testing.T) {
	const readers = 500
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := cachetest.NewClock(start)
	src := &countingSource{raw: benchSecret(t)}
	c := newBenchCache(t, src, time.Minute, clock.Now)
	ctx := t.Context()
	if _, err := c.Get(ctx, c.Primary(), false); err != nil {
		t.Fatal(err)
	}
	before := src.calls.Load()

	clock.Advance(time.Minute)
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, readers)
	var started, done sync.WaitGroup
	started.Add(readers)
	versions := make([]string, readers)
	errs := make([]error, readers)
	for i := range readers {
		done.Go(func() {
			started.Done()
			res, err := c.Get(ctx, benchPrimary, false)
			errs[i] = err
			if err == nil {
				versions[i] = res.Value.VersionID
			}
		})
	}
	started.Wait()
	select {
	case <-src.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no upstream call within 10s of the expiry")
	}
	close(src.gate)
	done.Wait()

	calls := src.calls.Load() - before
	t.Logf("figure upstream_calls_500_at_expiry=%d", calls)
	if calls != 1 {
		t.Errorf("upstream calls for %d concurrent reads at expiry = %d, want 1", readers, calls)
	}
	want := fmt.Sprintf("v%d", before+1)
	for i := range readers {
		if errs[i] != nil || versions[i] != want {
			t.Fatalf("reader %d: version %q, error %v; want %s", i, versions[i], errs[i], want)
		}
	}
}

// TestGetFreshPrimaryAllocatesNothing guards the hit path: a read of the
// fresh Starfleet secret by the key Primary gives, as the slice API reads
// it, must not allocate.
func TestGetFreshPrimaryAllocatesNothing(t *testing.T) {
	c := warmCache(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Get(ctx, c.Primary(), false); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("figure get_fresh_allocs=%g", allocs)
	if allocs != 0 {
		t.Errorf("Get on a fresh primary entry allocates %g times per call, want 0", allocs)
	}
}
