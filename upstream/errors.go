package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The services, as messages name them.
const (
	ServiceSecretsManager = "Secrets Manager"
	ServiceParameterStore = "Parameter Store"
)

// Codes for failures that AWS did not name itself.
const (
	CodeTimeout         = "Timeout"             // the fetch timeout ran out
	CodeConnection      = "ConnectionError"     // could not talk to the endpoint
	CodeInvalidResponse = "InvalidResponse"     // the endpoint answered something unreadable
	CodeNotJSONObject   = "SecretNotJSONObject" // the secret is not a JSON object of slices
	CodeFileUnreadable  = "LocalFileUnreadable" // the local file source could not be read
	CodeShuttingDown    = "ShuttingDown"        // the cache is closed
	CodeRefreshSlow     = "RefreshSlow"         // a refresh outlasted the cache's refresh wait
	CodeNotFound        = "ResourceNotFoundException"
	CodeNotConfigured   = "ParameterStoreNotConfigured" // no Parameter Store source (local file mode)
)

// Error is a failed read, reduced to what callers decide on: the AWS error
// code (or one of the Code constants), whether trying again later may
// succeed, and whether to try again now. Its message never contains secret
// material: AWS error messages name principals and resources, not values.
type Error struct {
	Code string
	// Transient: the failure describes the service's or the network's
	// state, not the request, so a value read before may be served
	// meanwhile.
	Transient bool
	// Retryable: the SDK's standard retryer would retry the call now. It
	// implies Transient.
	Retryable bool
	Err       error
	// Service is the service that failed (ServiceSecretsManager, ServiceParameterStore),
	// empty when the failure was not a service's.
	Service string
	// RequestID is the AWS request id of the failed call, when AWS
	// answered: what AWS support asks for.
	RequestID string
	// Status is the HTTP status AWS answered with, 0 when it did not
	// answer.
	Status int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v", e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// GatewayStatus is the HTTP status the extension answers for e where AWS
// answered none of its own: 504 when the service did not answer in time,
// 503 while shutting down, 502 for everything else it, or the secret's
// content, got wrong.
func (e *Error) GatewayStatus() int {
	switch e.Code {
	case CodeTimeout:
		return http.StatusGatewayTimeout
	case CodeShuttingDown:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

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

// Classify turns any error of a read from service into an *Error. It is a
// pure function of the error so that the staleness rules can be tested
// without a network. An *Error passes through unchanged, its Service
// filled in if empty.
func Classify(service string, err error) *Error {
	if err == nil {
		return nil
	}
	var ue *Error
	if errors.As(err, &ue) {
		if ue.Service == "" {
			copied := *ue
			copied.Service = service
			return &copied
		}
		return ue
	}
	ue = classify(service, err)
	ue.Service = service
	ue.Retryable = sdkRetryable(err)
	ue.Transient = ue.Transient || ue.Retryable
	return ue
}

// sdkRetryable is the SDK's standard retryer's decision on err, which the
// extension's errors are shaped for (see Clients.call): the statuses,
// codes, connection failures and clock skew it retries.
func sdkRetryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
}

func classify(service string, err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Transient: true, Err: err}
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
		ue := &Error{Code: code, Transient: transient, Err: errors.New(msg)}
		var awsErr *awshttp.ResponseError
		if errors.As(err, &awsErr) {
			ue.RequestID = awsErr.ServiceRequestID()
		}
		if respErr != nil {
			ue.Status = respErr.HTTPStatusCode()
		}
		return ue
	}
	// Checked before the decoding failures below: the SDK wraps a failed
	// send in a response error with status 0.
	var netErr net.Error
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &netErr) || errors.As(err, &sendErr) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		if netErr != nil && netErr.Timeout() {
			return &Error{Code: CodeTimeout, Transient: true, Err: err}
		}
		return &Error{Code: CodeConnection, Transient: true, Err: err}
	}
	var deserErr *smithy.DeserializationError
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &deserErr) || errors.As(err, &respErr) {
		// An answer the SDK could not decode: a proxy's error page, a
		// truncated body. The service may be fine a moment later. The
		// decoder's message can quote the body, which may be a damaged
		// secret, so it is replaced.
		msg := "the answer from " + orAWS(service) + " could not be decoded"
		if respErr != nil {
			msg = fmt.Sprintf("%s (HTTP %d)", msg, respErr.HTTPStatusCode())
		}
		return &Error{Code: CodeInvalidResponse, Transient: true, Err: errors.New(msg)}
	}
	return &Error{Code: CodeConnection, Transient: true, Err: err}
}

// orAWS names service, or AWS when it is not known.
func orAWS(service string) string {
	if service == "" {
		return "AWS"
	}
	return service
}
