package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// AWS refuses a request signed more than five minutes off its own clock,
// and a laptop or Docker Desktop coming back from sleep is often further
// off than that. The SDK's clients learn the difference from each answer's
// Date header, sign every later request with it, and retry the one that
// failed; the extension's own client does the same, by the rules of the
// SDKs' clock skew correction.

// skewThreshold is how far apart the signing time and AWS's clock must be
// for a refused signature to be taken for clock skew.
const skewThreshold = 4 * time.Minute

// maxTrustedRoundTrip bounds the round trip whose Date header is believed:
// a slower answer says little about the clocks.
const maxTrustedRoundTrip = 15 * time.Minute

// clockSkewCodes are the errors AWS answers a request signed off its clock
// with (and, alike, a request signed wrongly): each is retried only when
// the answer's Date header shows the clocks apart.
var clockSkewCodes = map[string]bool{
	"InvalidSignatureException": true,
	"SignatureDoesNotMatch":     true,
	"AuthFailure":               true,
	"RequestTimeTooSkewed":      true,
	"AccessDeniedException":     true,
}

// clockSkew is how far AWS's clock runs ahead of this host's, as the last
// answer with a Date header told; every request is signed by it.
type clockSkew struct{ offset atomic.Int64 }

// get is the skew requests are signed with now.
func (s *clockSkew) get() time.Duration { return time.Duration(s.offset.Load()) }

// observe learns the skew from an answer received at responseAt to a
// request sent at requestAt, and reports it; false when the answer tells
// nothing: no Date header, one an HTTP cache served (Age), or a round trip
// too slow to trust.
func (s *clockSkew) observe(header http.Header, requestAt, responseAt time.Time) (time.Duration, bool) {
	date := header.Get("Date")
	if date == "" || header.Get("Age") != "" || responseAt.Sub(requestAt) > maxTrustedRoundTrip {
		return 0, false
	}
	server, err := http.ParseTime(date)
	if err != nil {
		return 0, false
	}
	skew := server.Sub(responseAt)
	s.offset.Store(int64(skew))
	return skew, true
}

// skewRefused reports whether err, AWS's answer to a request signed with
// skew signed, is a refusal the clocks explain: a clock skew code, and the
// signing time more than skewThreshold from AWS's clock.
func skewRefused(err error, signed, observed time.Duration, haveObserved bool) bool {
	var coded interface{ ErrorCode() string }
	if !haveObserved || !errors.As(err, &coded) || !clockSkewCodes[coded.ErrorCode()] {
		return false
	}
	return (signed - observed).Abs() > skewThreshold
}

// clockSkewError is a request AWS refused because it was signed off its
// clock: retrying it, signed by the skew just learnt, succeeds.
type clockSkewError struct {
	Err  error
	Skew time.Duration
}

func (e *clockSkewError) Error() string {
	return fmt.Sprintf("AWS's clock is %s off this host's: %v", e.Skew.Round(time.Second), e.Err)
}

func (e *clockSkewError) Unwrap() error { return e.Err }

// RetryableError tells the SDK's retryer to retry it.
func (e *clockSkewError) RetryableError() bool { return true }
