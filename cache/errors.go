package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Codes for failures that Secrets Manager did not name itself.
const (
	CodeTimeout         = "Timeout"             // the fetch timeout ran out
	CodeConnection      = "ConnectionError"     // could not talk to the endpoint
	CodeInvalidResponse = "InvalidResponse"     // the endpoint answered something unreadable
	CodeNotJSONObject   = "SecretNotJSONObject" // the secret is not a JSON object of slices
	CodeFileUnreadable  = "LocalFileUnreadable" // the local file source could not be read
	CodeShuttingDown    = "ShuttingDown"        // the cache is closed
	CodeRefreshSlow     = "RefreshSlow"         // a refresh outlasted Policy.RefreshWait
	CodeNotFound        = "ResourceNotFoundException"
	CodeNotConfigured   = "ParameterStoreNotConfigured" // no Parameter Store source (local file mode)
)

// UpstreamError is a failed fetch, reduced to what callers decide on: the
// AWS error code (or one of the Code constants) and whether trying again
// later may succeed. Its message never contains secret material: AWS error
// messages name principals and resources, not values.
type UpstreamError struct {
	Code      string
	Transient bool
	Err       error
	// RequestID is the AWS request id of the failed call, when AWS
	// answered: what AWS support asks for.
	RequestID string
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("%s: %v", e.Code, e.Err)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// transientCodes are AWS error codes that describe the service's state, not
// the request's: the same call may succeed later.
var transientCodes = map[string]bool{
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"TooManyRequestsException":               true,
	"RequestLimitExceeded":                   true,
	"InternalServiceError":                   true,
	"InternalFailure":                        true,
	"ServiceUnavailable":                     true,
	"RequestTimeout":                         true,
	"RequestTimeoutException":                true,
	"PriorRequestNotComplete":                true,
	"ProvisionedThroughputExceededException": true,
	"InternalServerError":                    true, // Parameter Store's name for it
}

// Classify turns any error from a Source into an *UpstreamError. It is a
// pure function of the error so that the staleness rules can be tested
// without a network.
func Classify(err error) *UpstreamError {
	if err == nil {
		return nil
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return ue
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &UpstreamError{Code: CodeTimeout, Transient: true, Err: err}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		transient := transientCodes[code] || apiErr.ErrorFault() == smithy.FaultServer
		var respErr *smithyhttp.ResponseError
		if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
			transient = true
		}
		// AWS's own message, not the SDK's wrapper ("operation error
		// ..., https response error StatusCode: 400, RequestID: ...").
		msg := apiErr.ErrorMessage()
		if msg == "" {
			msg = code
		}
		ue := &UpstreamError{Code: code, Transient: transient, Err: errors.New(msg)}
		var awsErr *awshttp.ResponseError
		if errors.As(err, &awsErr) {
			ue.RequestID = awsErr.ServiceRequestID()
		}
		return ue
	}
	// Checked before the decoding failures below: the SDK wraps a failed
	// send in a response error with status 0.
	var netErr net.Error
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &netErr) || errors.As(err, &sendErr) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		if netErr != nil && netErr.Timeout() {
			return &UpstreamError{Code: CodeTimeout, Transient: true, Err: err}
		}
		return &UpstreamError{Code: CodeConnection, Transient: true, Err: err}
	}
	var deserErr *smithy.DeserializationError
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &deserErr) || errors.As(err, &respErr) {
		// An answer the SDK could not decode: a proxy's error page, a
		// truncated body. The service may be fine a moment later. The
		// decoder's message can quote the body, which may be a damaged
		// secret, so it is replaced.
		msg := "the answer from Secrets Manager could not be decoded"
		if respErr != nil {
			msg = fmt.Sprintf("%s (HTTP %d)", msg, respErr.HTTPStatusCode())
		}
		return &UpstreamError{Code: CodeInvalidResponse, Transient: true, Err: errors.New(msg)}
	}
	return &UpstreamError{Code: CodeConnection, Transient: true, Err: err}
}
