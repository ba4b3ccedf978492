package cache

import (
	"context"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/upstream"
)

func TestNegativeIsNotFoundAndAccessDenied(t *testing.T) {
	for code, want := range map[string]bool{
		"ResourceNotFoundException": true, "ParameterNotFound": true, "ParameterVersionNotFound": true,
		"AccessDeniedException": true, "DecryptionFailure": false, "ThrottlingException": false, item.CodeTimeout: false,
	} {
		if got := Negative(&item.Error{Code: code}); got != want {
			t.Errorf("Negative(%s) = %v", code, got)
		}
	}
	if Negative(&item.Error{Code: "ResourceNotFoundException", Transient: true}) || Negative(nil) {
		t.Error("a transient or absent error is remembered")
	}
}

func TestAfterFailureRemembersNegativeAnswersForTheNegativeTTL(t *testing.T) {
	p := Policy{TTL: time.Minute, BackoffBase: time.Second, BackoffMax: 10 * time.Second, NegativeTTL: 5 * time.Second}
	notFound := &item.Error{Code: "ResourceNotFoundException"}
	for range 3 { // consecutive failures do not stretch it
		if e := p.afterFailure(&entry{failures: 2}, notFound, t0); !e.retryAt.Equal(t0.Add(5 * time.Second)) {
			t.Errorf("retry at %v, want the negative TTL after the call", e.retryAt.Sub(t0))
		}
	}
	if e := p.afterFailure(nil, &item.Error{Code: "DecryptionFailure"}, t0); e.retryAt.Sub(t0) > time.Second {
		t.Errorf("another permanent error waits %v, want the backoff's first step", e.retryAt.Sub(t0))
	}
	p.NegativeTTL = 0
	if e := p.afterFailure(nil, notFound, t0); e.retryAt.Sub(t0) > time.Second {
		t.Errorf("with the negative TTL off, not found waits %v, want the backoff's first step", e.retryAt.Sub(t0))
	}
}

// TestMissesWithinTheNegativeTTLCostOneCall: a loop asking for a secret
// that does not exist makes one upstream call per negative TTL, and a
// forced read asks again.
func TestMissesWithinTheNegativeTTLCostOneCall(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{}`, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."})
	recorder := metrics.New()
	p := NewPolicy(Limits{TTL: time.Minute, MaxStale: time.Minute, NegativeTTL: 5 * time.Second, FetchTimeout: time.Second}, false)
	c, clock := newTestCache(t, src, p)
	c.metrics = recorder
	missing := item.SecretKey{ID: "missing"}
	for i := range 1000 {
		_, err := c.Get(context.Background(), missing, false)
		if uerr := upstream.Classify("", err); uerr == nil || uerr.Code != "ResourceNotFoundException" || uerr.Err.Error() == "" {
			t.Fatalf("request %d: %v, want the service's not found", i, err)
		}
		clock.Advance(time.Millisecond) // 1,000 requests in 1 s
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d upstream calls for 1,000 misses within the negative TTL, want 1", n)
	}
	if s := recorder.Take(); s.NegativeHits != 999 {
		t.Errorf("%d negative hits, want 999", s.NegativeHits)
	}
	clock.Advance(5 * time.Second)
	c.Get(context.Background(), missing, false)
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d upstream calls after the negative TTL, want 2", n)
	}
	clock.Advance(2 * time.Second) // within the renewed negative TTL
	c.Get(context.Background(), missing, false)
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d upstream calls within the renewed negative TTL, want still 2", n)
	}
	c.Get(context.Background(), missing, true)
	if n := src.calls.Load(); n != 3 {
		t.Errorf("%d upstream calls after a forced read, want 3: it bypasses what is remembered", n)
	}
}
