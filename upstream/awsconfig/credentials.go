package awsconfig

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"
)

// renewMargin is how long before they expire credentials are renewed: a
// read that starts with them must still be signed validly when it is sent,
// retries included.
const renewMargin = 5 * time.Minute

// Renewing keeps the credentials a provider hands out (an assumed role's,
// the container endpoint's) until renewMargin before they expire, with one
// retrieval in flight at a time however many reads need them at once.
type Renewing struct {
	provider aws.CredentialsProvider
	now      func() time.Time
	flight   singleflight.Group

	mu    sync.Mutex
	creds aws.Credentials
	have  bool
}

// NewRenewing keeps provider's credentials; now is the clock, nil for the
// wall clock.
func NewRenewing(provider aws.CredentialsProvider, now func() time.Time) *Renewing {
	if now == nil {
		now = func() time.Time { return time.Now().Round(0) }
	}
	return &Renewing{provider: provider, now: now}
}

// usable reports whether the kept credentials may still sign at now.
func (r *Renewing) usable(now time.Time) (aws.Credentials, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.have || r.creds.CanExpire && !now.Add(renewMargin).Before(r.creds.Expires) {
		return aws.Credentials{}, false
	}
	return r.creds, true
}

// Retrieve implements aws.CredentialsProvider.
func (r *Renewing) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if creds, ok := r.usable(r.now()); ok {
		return creds, nil
	}
	// Callers that arrive meanwhile share this retrieval, so it must not
	// end with the first caller's context.
	ch := r.flight.DoChan("", func() (any, error) {
		if creds, ok := r.usable(r.now()); ok {
			return creds, nil
		}
		creds, err := r.provider.Retrieve(context.WithoutCancel(ctx))
		if err != nil {
			return aws.Credentials{}, err
		}
		r.mu.Lock()
		r.creds, r.have = creds, true
		r.mu.Unlock()
		return creds, nil
	})
	select {
	case res := <-ch:
		return res.Val.(aws.Credentials), res.Err
	case <-ctx.Done():
		return aws.Credentials{}, ctx.Err()
	}
}

// Invalidate drops the kept credentials: AWS said they expired before
// their time.
func (r *Renewing) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.have = false
}
