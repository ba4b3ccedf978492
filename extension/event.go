package extension

import "time"

// EventType names a lifecycle event of the Extensions API.
type EventType string

// The event types an external extension can register for.
const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// Event is one answer of /event/next, in Lambda's JSON shape.
type Event struct {
	EventType          EventType `json:"eventType"`
	DeadlineMs         int64     `json:"deadlineMs"` // unix epoch milliseconds
	RequestID          string    `json:"requestId,omitempty"`
	InvokedFunctionArn string    `json:"invokedFunctionArn,omitempty"`
	ShutdownReason     string    `json:"shutdownReason,omitempty"` // spindown, timeout, failure
	Tracing            *Tracing  `json:"tracing,omitempty"`
}

// Tracing is the X-Ray tracing header of an INVOKE event.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Deadline returns the moment the platform stops waiting: for INVOKE the
// function's timeout, for SHUTDOWN the moment the process is killed.
func (e Event) Deadline() time.Time {
	return time.UnixMilli(e.DeadlineMs)
}

// Registration is the body of the register answer.
type Registration struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	// AccountID is only sent when the extension asks for the accountId
	// feature, which Register does.
	AccountID string `json:"accountId,omitempty"`
}
