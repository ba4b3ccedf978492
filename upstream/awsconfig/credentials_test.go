package awsconfig

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// countingProvider hands out credentials that expire an hour after they
// were asked for, counting the asks.
type countingProvider struct {
	now     func() time.Time
	calls   atomic.Int32
	entered chan struct{} // receives at each call
	gate    chan struct{}
}

func (p *countingProvider) Retrieve(context.Context) (aws.Credentials, error) {
	p.calls.Add(1)
	select {
	case p.entered <- struct{}{}:
	default:
	}
	if p.gate != nil {
		<-p.gate
	}
	return aws.Credentials{AccessKeyID: "ASIAROLE", CanExpire: true, Expires: p.now().Add(time.Hour)}, nil
}

// TestRenewingAssumesOnceAndAgainNearExpiry: many concurrent first reads
// make one AssumeRole; the credentials are kept until shortly before they
// expire, then renewed once.
func TestRenewingAssumesOnceAndAgainNearExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	provider := &countingProvider{now: clock, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	r := NewRenewing(provider, clock)

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if creds, err := r.Retrieve(t.Context()); err != nil || creds.AccessKeyID != "ASIAROLE" {
				t.Errorf("Retrieve = %+v, %v", creds, err)
			}
		})
	}
	select {
	case <-provider.entered: // the first retrieval, held at the gate
	case <-time.After(10 * time.Second):
		t.Fatal("no retrieval began")
	}
	close(provider.gate)
	wg.Wait()
	if n := provider.calls.Load(); n != 1 {
		t.Fatalf("%d AssumeRole calls for 50 concurrent first reads, want 1", n)
	}
	advance(time.Hour - renewMargin - time.Second)
	r.Retrieve(t.Context())
	if n := provider.calls.Load(); n != 1 {
		t.Errorf("%d calls before the renewal margin, want still 1", n)
	}
	advance(2 * time.Second)
	r.Retrieve(t.Context())
	r.Retrieve(t.Context())
	if n := provider.calls.Load(); n != 2 {
		t.Errorf("%d calls inside the renewal margin, want 2: renewed once", n)
	}
	r.Invalidate()
	r.Retrieve(t.Context())
	if n := provider.calls.Load(); n != 3 {
		t.Errorf("%d calls after Invalidate, want 3", n)
	}
}
