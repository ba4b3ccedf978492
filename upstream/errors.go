package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/starfleet/starfleet-secrets/item"
)

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

// Classify turns any error of a read from service into an *item.Error. It is a
// pure function of the error so that the staleness rules can be tested
// without a network. An *item.Error passes through unchanged, its Service
// filled in if empty.
func Classify(service string, err error) *item.Error {
	if err == nil {
		return nil
	}
	var ue *item.Error
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

func classify(service string, err error) *item.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &item.Error{Code: item.CodeTimeout, Transient: true, Err: err}
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
		ue := &item.Error{Code: code, Transient: transient, Err: errors.New(msg)}
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
			return &item.Error{Code: item.CodeTimeout, Transient: true, Err: err}
		}
		return &item.Error{Code: item.CodeConnection, Transient: true, Err: err}
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
		return &item.Error{Code: item.CodeInvalidResponse, Transient: true, Err: errors.New(msg)}
	}
	return &item.Error{Code: item.CodeConnection, Transient: true, Err: err}
}

// orAWS names service, or AWS when it is not known.
func orAWS(service string) string {
	if service == "" {
		return "AWS"
	}
	return service
}
