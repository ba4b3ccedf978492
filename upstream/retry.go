package upstream

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many calls one fetch makes at most: a transient
// failure is retried at once, twice, within the fetch's deadline.
const MaxAttempts = 3

// ErrNoRegion is the error of clients built with no region at all.
var ErrNoRegion = errors.New("no AWS region")

// classified is Classify that keeps a nil error an untyped nil.
func classified(service string, err error) error {
	if err == nil {
		return nil
	}
	return Classify(service, err)
}

// expiredCredentials reports whether AWS refused a call because its
// credentials had expired.
func expiredCredentials(code string) bool {
	return code == "ExpiredToken" || code == "ExpiredTokenException"
}

// withRetries calls fetch up to MaxAttempts times: a transient failure is
// retried after a short jittered pause, never past ctx's deadline, so that
// the error returned is always the last real one. Credentials AWS says
// have expired are renewed once, and the call retried once.
func withRetries(ctx context.Context, service string, fetch func() (*Value, error), renew func()) (*Value, error) {
	renewed := false
	for attempt := 1; ; attempt++ {
		sec, err := fetch()
		if err == nil {
			return sec, nil
		}
		uerr := Classify(service, err)
		if expiredCredentials(uerr.Code) && !renewed {
			renewed = true
			renew()
			attempt--
			continue
		}
		if attempt == MaxAttempts || !uerr.Transient {
			return sec, err
		}
		pause := retryPause(attempt, rand.Float64())
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
			return nil, err
		}
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, err
		}
	}
}

// retryPause is the pause before retry n+1 within one fetch: 50-100 ms,
// then 100-200 ms. jitter is in [0, 1).
func retryPause(n int, jitter float64) time.Duration {
	base := 100 * time.Millisecond << (n - 1)
	return base/2 + time.Duration(jitter*float64(base/2))
}
