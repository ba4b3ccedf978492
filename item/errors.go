package item

import (
	"fmt"
	"net/http"
)

// The services, as messages name them.
const (
	ServiceSecretsManager = "Secrets Manager"
	ServiceParameterStore = "Parameter Store"
	ServiceSTS            = "STS"
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
