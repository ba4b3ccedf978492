package cache

import (
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/cache/cachetest"
	"github.com/starfleet/starfleet-secrets/metrics"
)

// fakeSource is a scripted Source: it answers from a queue of outcomes and
// can hold calls until the test releases them.
type fakeSource struct {
	mu      sync.Mutex
	version int
	value   string
	fail    error
	calls   atomic.Int32
	gate    chan struct{} // non-nil: calls block until it is closed
	started chan struct{} // receives once per call, if non-nil
}

func (f *fakeSource) GetSecretValue(ctx context.Context, key item.SecretKey) (*item.Value, error) {
	f.calls.Add(1)
	f.mu.Lock()
	gate, started := f.gate, f.started
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return &item.Value{Name: key.ID, VersionID: fmt.Sprintf("v%d", f.version), Text: []byte(f.value)}, nil
}

func (f *fakeSource) set(version int, value string, fail error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version, f.value, f.fail = version, value, fail
}

var primary = item.SecretKey{ID: "Starfleet"}

func newTestCache(t *testing.T, src Source, p Policy) (*Cache, *cachetest.Clock) {
	t.Helper()
	clock := cachetest.NewClock(t0)
	c := New(Options{Source: src, Secrets: Rules{Policy: p, FetchTimeout: 5 * time.Second}, Primary: primary, Size: 3, Now: clock.Now, Sleep: func(_ context.Context, d time.Duration) error { clock.Advance(d); return nil }})
	t.Cleanup(c.Close)
	return c, clock
}

func throttling() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
}

func TestGetServesFromMemoryUntilTTL(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"A":"one"}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	ctx := t.Context()

	for range 3 {
		res, err := c.Get(ctx, primary, false)
		if err != nil || res.Value.VersionID != "v1" || res.Stale {
			t.Fatalf("Get = %+v, %v", res, err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
	if !c.Ready() {
		t.Error("not ready after a successful fetch")
	}

	src.set(2, `{"A":"two"}`, nil)
	clock.Advance(9 * time.Second)
	if res, _ := c.Get(ctx, primary, false); res.Value.VersionID != "v1" {
		t.Error("rotated value served before the TTL ended")
	}
	clock.Advance(time.Second)
	if res, _ := c.Get(ctx, primary, false); res.Value.VersionID != "v2" {
		t.Error("rotated value not served after the TTL")
	}
	doc, err := func() (*Document, error) { res, _ := c.Get(ctx, primary, false); return res.Document() }()
	if err != nil {
		t.Fatal(err)
	}
	if sl, _ := doc.Slice("A"); string(sl.Raw) != `"two"` {
		t.Errorf("slice A = %s", sl.Raw)
	}
}

func TestConcurrentMissesShareOneFetch(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	src.set(1, `{"A":1}`, nil)
	c, _ := newTestCache(t, src, testPolicy())

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.Get(t.Context(), primary, false)
			errs <- err
		})
	}
	<-src.started // the one fetch is in flight; the rest join it
	close(src.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Errorf("upstream calls = %d, want 1", got)
	}
}

func TestTTLZeroFetchesEveryRequest(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	p := testPolicy()
	p.TTL = 0
	c, _ := newTestCache(t, src, p)
	for range 3 {
		if _, err := c.Get(t.Context(), primary, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.calls.Load(); got != 3 {
		t.Errorf("upstream calls = %d, want 3", got)
	}
}

func TestTransientFailureServesStaleWithinMaxStale(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"A":1}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	ctx := t.Context()
	if _, err := c.Get(ctx, primary, false); err != nil {
		t.Fatal(err)
	}

	src.set(1, "", throttling())
	clock.Advance(11 * time.Second)
	res, err := c.Get(ctx, primary, false)
	if err != nil || !res.Stale || res.StaleCause.Code != "ThrottlingException" {
		t.Fatalf("Get = %+v, %v; want the stale value", res, err)
	}
	calls := src.calls.Load()
	// In backoff: answered at once from the stale value, no upstream call.
	if res, err := c.Get(ctx, primary, false); err != nil || !res.Stale {
		t.Fatalf("Get in backoff = %+v, %v", res, err)
	}
	if src.calls.Load() != calls {
		t.Error("called upstream during backoff")
	}

	// Past TTL+MaxStale the value is no longer served.
	clock.Advance(time.Minute)
	if _, err := c.Get(ctx, primary, false); err == nil {
		t.Fatal("served past max-stale")
	} else if uerr := upstream.Classify("", err); uerr.Code != "ThrottlingException" {
		t.Errorf("error code %s", uerr.Code)
	}

	// Recovery.
	src.set(2, `{"A":2}`, nil)
	clock.Advance(time.Minute)
	if res, err := c.Get(ctx, primary, false); err != nil || res.Stale || res.Value.VersionID != "v2" {
		t.Fatalf("after recovery: %+v, %v", res, err)
	}
}

func TestPermanentFailureStopsServing(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"A":1}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	ctx := t.Context()
	c.Get(ctx, primary, false)

	src.set(1, "", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"})
	clock.Advance(11 * time.Second)
	_, err := c.Get(ctx, primary, false)
	var uerr *item.Error
	if !errors.As(err, &uerr) || uerr.Code != "AccessDeniedException" || uerr.Transient {
		t.Fatalf("err = %v, want AccessDeniedException", err)
	}
	if _, err := c.Get(ctx, primary, false); err == nil {
		t.Error("stale value served after a permanent failure")
	}
}

// TestForcedRefreshAnswersAFetchBegunAfterIt: inside the interval a forced
// read waits for the next allowed fetch instead of taking the older value.
func TestForcedRefreshAnswersAFetchBegunAfterIt(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	ctx := t.Context()
	c.Get(ctx, primary, false)
	src.set(2, `{}`, nil)
	clock.Advance(400 * time.Millisecond)
	res, err := c.Get(ctx, primary, true)
	if err != nil || res.Value.VersionID != "v2" {
		t.Fatalf("forced read inside the interval = %+v %v, want v2", res, err)
	}
	if got := clock.Now().Sub(t0); got != time.Second {
		t.Errorf("the forced read's fetch began %v after the first, want the interval (1s)", got)
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
	// Past the interval a forced read fetches at once.
	src.set(3, `{}`, nil)
	clock.Advance(time.Second)
	if res, _ := c.Get(ctx, primary, true); res.Value.VersionID != "v3" || !res.FetchedAt.Equal(clock.Now()) {
		t.Errorf("forced read after the interval = %+v, want v3 fetched now", res)
	}
}

func TestForcedRefreshIsRateLimited(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	ctx := t.Context()
	c.Get(ctx, primary, false)
	src.set(2, `{}`, nil)

	clock.Advance(time.Second)
	if res, _ := c.Get(ctx, primary, true); res.Value.VersionID != "v2" {
		t.Fatal("forced refresh did not fetch")
	}
	for range 50 {
		c.Get(ctx, primary, true)
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("upstream calls = %d, want 2 (one forced call a second)", got)
	}
	clock.Advance(time.Second)
	c.Get(ctx, primary, true)
	if got := src.calls.Load(); got != 3 {
		t.Errorf("upstream calls = %d, want 3", got)
	}
}

func TestRefreshIfExpired(t *testing.T) {
	src := &fakeSource{started: make(chan struct{}, 4)}
	src.set(1, `{}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	c.Get(t.Context(), primary, false)
	<-src.started

	c.RefreshIfExpired(primary)
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("refreshed a fresh value: %d calls", got)
	}
	clock.Advance(11 * time.Second)
	src.set(2, `{}`, nil)
	c.RefreshIfExpired(primary)
	<-src.started
	// The handler's request joins the background fetch or finds it done.
	if res, _ := c.Get(t.Context(), primary, false); res.Value.VersionID != "v2" {
		t.Error("refresh on INVOKE did not fetch the new version")
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
}

func TestCallerCancelDoesNotCancelSharedFetch(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	src.set(1, `{}`, nil)
	c, _ := newTestCache(t, src, testPolicy())

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := c.Get(ctx, primary, false); done <- err }()
	<-src.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(src.gate)
	if _, err := c.Get(t.Context(), primary, false); err != nil {
		t.Fatal(err)
	}
	if got := src.calls.Load(); got != 1 {
		t.Errorf("upstream calls = %d, want 1: the fetch must survive its first caller", got)
	}
}

func TestLRUBoundsOtherSecrets(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	c, _ := newTestCache(t, src, testPolicy())
	hot := item.SecretKey{ID: "hot"}
	for i := range 10 {
		c.Get(t.Context(), hot, false)
		c.Get(t.Context(), item.SecretKey{ID: fmt.Sprint("s", i)}, false)
		if c.Len() > 3 {
			t.Fatalf("LRU holds %d, size 3", c.Len())
		}
	}
	before := src.calls.Load()
	c.Get(t.Context(), hot, false)
	if src.calls.Load() != before {
		t.Error("hot key was evicted")
	}
}

func TestCloseWipesAndRefuses(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"A":"wipe-me"}`, nil)
	c, clock := newTestCache(t, src, testPolicy())
	res, _ := c.Get(t.Context(), primary, false)
	c.Close()
	if string(res.Value.Text) == `{"A":"wipe-me"}` {
		t.Error("Close did not wipe the cached bytes")
	}
	clock.Advance(time.Hour)
	if _, err := c.Get(t.Context(), primary, false); err == nil {
		t.Error("closed cache fetched")
	}
}

// TestRefreshAheadKeepsReadValuesFresh: in the background mode a value is
// refetched before it expires, so a read never meets an expired value; a
// value nobody read since its fetch is left to expire.
func TestRefreshAheadKeepsReadValuesFresh(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	c, clock := newTestCache(t, src, testPolicy()) // TTL 10s
	ctx := t.Context()
	c.Get(ctx, primary, false)
	other := item.SecretKey{ID: "other"}
	c.Get(ctx, other, false)
	unread := item.SecretKey{ID: "unread"}
	c.Get(ctx, unread, false) // fetched by a miss: never served from memory
	c.Get(ctx, other, false)  // served from memory: marked read
	src.set(2, `{}`, nil)

	clock.Advance(7 * time.Second) // before every refresh window
	c.RefreshDue()
	if n := src.calls.Load(); n != 3 {
		t.Fatalf("%d calls before the window, want 3", n)
	}
	clock.Advance(2 * time.Second) // 9s: past every window, before expiry
	c.RefreshDue()
	for _, k := range []item.Key{primary, other} {
		res, err := c.Get(ctx, k, false)
		if err != nil || res.Value.VersionID != "v2" || res.Stale {
			t.Errorf("%v after the refresh ahead: %+v %v, want v2 fresh", k, res, err)
		}
	}
	if n := src.calls.Load(); n != 5 {
		t.Errorf("%d calls, want 5 (the unread value is not refreshed)", n)
	}
}

// TestShutdownAbortIsNotAnUpstreamFault: a fetch cut off by shutdown is
// logged as aborted, and neither counted nor remembered as a failure.
func TestShutdownAbortIsNotAnUpstreamFault(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	var logs bytes.Buffer
	recorder := metrics.New()
	c := New(Options{Source: src, Secrets: Rules{Policy: testPolicy(), FetchTimeout: time.Minute}, Primary: primary, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: recorder})
	got := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), primary, false)
		got <- err
	}()
	<-src.started
	c.Abort()
	err := <-got
	if upstream.Classify("", err).Code != item.CodeShuttingDown {
		t.Errorf("the waiting request got %v, want %s", err, item.CodeShuttingDown)
	}
	c.Close()
	snap := recorder.Take()
	if snap.Fetches != 0 || len(snap.FetchErrors) != 0 {
		t.Errorf("counted as upstream: %d fetches, errors %v", snap.Fetches, snap.FetchErrors)
	}
	if !strings.Contains(logs.String(), `"status":"aborted"`) || strings.Contains(logs.String(), "InvalidResponse") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestFailedWaitsCountAsMisses: an answer that waited on a fetch is a
// miss whether the fetch succeeded or not, forced or not.
func TestFailedWaitsCountAsMisses(t *testing.T) {
	src := sourceFunc(func(context.Context, item.SecretKey) (*item.Value, error) {
		return nil, &item.Error{Code: "AccessDeniedException", Err: errors.New("denied")}
	})
	recorder := metrics.New()
	c := New(Options{Source: src, Secrets: Rules{Policy: Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: primary, Metrics: recorder})
	defer c.Close()
	for _, force := range []bool{false, true} {
		if _, err := c.Get(t.Context(), primary, force); err == nil {
			t.Fatalf("force %v: served a value the source refused", force)
		}
	}
	if got := recorder.Take().Misses; got != 2 {
		t.Errorf("%d misses, want 2: a failed wait is a miss on both paths", got)
	}
}
