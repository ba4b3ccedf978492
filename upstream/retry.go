package upstream

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/starfleet/starfleet-secrets/item"
)

// MaxAttempts is how many calls one fetch makes at most, as the SDK's
// standard retryer makes.
const MaxAttempts = retry.DefaultMaxAttempts

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

// newRetryer is the SDK's standard retryer, which the extension's own
// client keeps so that it retries exactly what the SDK clients it replaced
// retried, as often and as patiently: throttling after a second or more
// (50 ms for other failures), with full jitter, and only while the token
// bucket it shares among every read allows (500 tokens, a retry costing 14,
// 5 after throttling), so that an account AWS throttles gets less load
// from its functions, not more. Its package is linked already, by the
// container credentials provider.
func newRetryer() *retry.Standard {
	return retry.NewStandard()
}

// withRetries calls fetch up to MaxAttempts times, retrying what the SDK's
// standard retryer retries (see newRetryer), never past ctx's deadline, so
// that the error returned is always the last real one. Credentials AWS
// says have expired are renewed once, and the call retried once, outside
// the retry budget: the SDK's clients do the same through their
// credentials cache.
func (c *Clients) withRetries(ctx context.Context, service string, key item.Key, fetch func() (*item.Value, error)) (*item.Value, error) {
	renewed := false
	release, err := c.retryer.GetAttemptToken(ctx)
	if err != nil {
		release = func(error) error { return nil }
	}
	for attempt := 1; ; attempt++ {
		v, err := fetch()
		release(err)
		if err == nil {
			return v, nil
		}
		uerr := Classify(service, err)
		if expiredCredentials(uerr.Code) && !renewed {
			renewed = true
			c.renew(item.ScopeOf(key).RoleARN)
			attempt--
			release = func(error) error { return nil }
			continue
		}
		if attempt >= MaxAttempts || !uerr.Retryable {
			return v, err
		}
		pause, ok := c.retryPause(attempt, err)
		if !ok {
			return v, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
			return nil, err
		}
		if release, ok = c.retryToken(ctx, err); !ok {
			return v, err
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

// retryToken takes the cost of retrying after err from the retry budget,
// and reports false when the budget cannot pay it.
func (c *Clients) retryToken(ctx context.Context, err error) (func(error) error, bool) {
	release, tokenErr := c.retryer.GetRetryToken(ctx, err)
	return release, tokenErr == nil
}

// retryPause is the pause before the retry that follows attempt's
// failure err: the standard retryer's backoff, stretched to the service's
// X-Amz-Retry-After as the SDK's retry middleware does.
func (c *Clients) retryPause(attempt int, err error) (time.Duration, bool) {
	pause, delayErr := c.retryer.RetryDelay(attempt, err)
	if delayErr != nil {
		return 0, false
	}
	return withRetryAfter(pause, err), true
}

// withRetryAfter is backoff adjusted to the X-Amz-Retry-After (in
// milliseconds) of err's answer: never shorter than backoff, nor longer
// than five seconds past it.
func withRetryAfter(backoff time.Duration, err error) time.Duration {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return backoff
	}
	ms, parseErr := strconv.ParseInt(re.Response.Header.Get("X-Amz-Retry-After"), 10, 64)
	if parseErr != nil || ms < 0 {
		return backoff
	}
	return min(max(time.Duration(ms)*time.Millisecond, backoff), backoff+5*time.Second)
}
