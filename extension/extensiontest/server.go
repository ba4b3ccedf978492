// Package extensiontest is a fake of the AWS Lambda Extensions API for tests,
// in the way net/http/httptest fakes a server.
//
// The fake behaves like the platform rather than like a mock: every call after
// register needs the extension identifier, events are only handed to an
// /event/next call that is waiting for one, registration closes once the first
// event is delivered, and an extension that overstays its SHUTDOWN deadline is
// killed. Tests drive it from the platform's side (Invoke, Shutdown, WaitIdle)
// and may run a real extension binary against it with Start.
//
// Error answers have Lambda's shape, {"errorMessage": ..., "errorType": ...}:
//
//	400 Extension.InvalidExtensionName     register without Lambda-Extension-Name
//	400 InvalidRequestFormat               register body is not {"events": [...]}
//	400 Extension.InvalidEventType         register for anything but INVOKE, SHUTDOWN
//	403 Extension.InvalidEventType         register for INVOKE under Managed Instances
//	403 Extension.RegistrationClosed       register after the first event was delivered
//	403 Extension.InvalidExtensionState    register of a name already registered;
//	                                       init/error after init; an /event/next
//	                                       superseded by a newer one
//	403 Extension.TooManyExtensions        more than 10 extensions
//	403 Extension.MissingExtensionIdentifier no Lambda-Extension-Identifier header
//	403 Extension.UnknownExtensionIdentifier an identifier register did not hand out
//	400 Extension.MissingHeader            init/error, exit/error without
//	                                       Lambda-Extension-Function-Error-Type
//	404 NotFound, 405 MethodNotAllowed     unknown route, wrong method
//	500 Extension.ServerClosed             /event/next still waiting at Close
//
// The 400s follow the public API reference; the real platform answers a
// duplicate name with 403 Extension.InvalidExtensionState, and so does the
// fake.
//
// Options.Model picks the execution model, as AWS_LAMBDA_INITIALIZATION_TYPE
// names it, and the fake behaves as Lambda does in it:
//
//	on-demand, provisioned-concurrency  INVOKE and SHUTDOWN; frozen between events
//	lambda-managed-instances            only SHUTDOWN may be registered (INVOKE
//	                                    is refused with 403, as above); Invoke
//	                                    delivers nothing to extensions, which
//	                                    serve many concurrent invocations
//	snap-start                          no AWS_SESSION_TOKEN: Start sets
//	                                    AWS_CONTAINER_AUTHORIZATION_TOKEN and
//	                                    AWS_CONTAINER_CREDENTIALS_FULL_URI, and
//	                                    the fake serves that credentials
//	                                    endpoint, as Lambda does after a restore
package extensiontest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
)

const (
	basePath = "/2020-01-01/extension"

	maxRequestBody = 1 << 20
	maxExtensions  = 10 // Lambda's limit per function

	// The function the fake runs, as register and INVOKE describe it.
	functionVersion = "$LATEST"
	accountID       = "123456789012"
	region          = "us-east-1"
)

// Errors returned by the platform-side methods.
var (
	// ErrClosed is returned by waits that were cut short by Close.
	ErrClosed = errors.New("extensiontest: server closed")
	// ErrShutdown is returned by Invoke, Shutdown and WaitIdle once SHUTDOWN
	// was delivered: like Lambda, the fake sends no event after it.
	ErrShutdown = errors.New("extensiontest: SHUTDOWN already delivered")
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	FunctionName string // default "starfleet-test"
	Handler      string // default "app.handler"

	// RegisterStatus, if non-zero, makes every register call fail with this
	// status and a Lambda-style error body whose errorType is the status
	// text without spaces ("InternalServerError").
	RegisterStatus int

	// Model is the execution model (see the package comment); default
	// on-demand.
	Model extension.Model
	// RefuseInvoke makes registration for INVOKE fail as under Managed
	// Instances whatever the model: a platform the extension must adapt to.
	RefuseInvoke bool
}

// Registration is one successful register call.
type Registration struct {
	Name, ID string
	Events   []string
}

// ErrorReport is one init/error or exit/error call.
type ErrorReport struct {
	Init      bool   // init/error; else exit/error
	ErrorType string // the Lambda-Extension-Function-Error-Type header
	Body      []byte // the request body, as sent
}

// Server is a running fake of the Extensions API.
type Server struct {
	opts Options
	srv  *http.Server
	addr string

	done      chan struct{} // closed by Close; every wait watches it
	closeOnce sync.Once
	served    chan struct{} // closed when Serve returned

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every state change
	exts      []*ext        // in registration order
	initDone  bool          // an event was delivered: registration is closed
	shutdown  bool          // SHUTDOWN was delivered
	faults    []delivery    // scripted answers for the next /event/next calls
	nextCalls int
	reports   []ErrorReport // init/error and exit/error calls, in order

	// The extension.SnapStart credentials endpoint's token, and its requests by
	// whether they carried it.
	containerToken     string
	credentialRequests int
	credentialRefusals int
}

// ext is a registered extension. Its fields are guarded by Server.mu.
type ext struct {
	reg Registration
	// pending is non-nil while the extension waits in /event/next with
	// nothing handed to it yet: the state Lambda calls ready.
	pending chan delivery
}

func (e *ext) subscribed(t extension.EventType) bool {
	return slices.Contains(e.reg.Events, string(t))
}

// delivery is what a waiting /event/next call answers: an event, a scripted
// error status, or a dropped connection.
type delivery struct {
	event     *extension.Event
	status    int
	errorType string
	message   string
	drop      bool
}

// NewServer starts a fake on 127.0.0.1 with a random port. Call Close when
// done. It panics if it cannot listen, like httptest.NewServer.
func NewServer(opts Options) *Server {
	opts.FunctionName = cmp.Or(opts.FunctionName, "starfleet-test")
	opts.Handler = cmp.Or(opts.Handler, "app.handler")
	opts.Model = cmp.Or(opts.Model, extension.OnDemand)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("extensiontest: listening: %v", err))
	}
	s := &Server{
		opts:    opts,
		addr:    ln.Addr().String(),
		done:    make(chan struct{}),
		served:  make(chan struct{}),
		changed: make(chan struct{}),
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // always ErrServerClosed after Close
	}()
	return s
}

// RuntimeAPI returns the value of AWS_LAMBDA_RUNTIME_API for this server,
// "127.0.0.1:port".
func (s *Server) RuntimeAPI() string { return s.addr }

// Close stops the server. Waiting /event/next calls are answered with 500
// Extension.ServerClosed and waiting methods return ErrClosed. Close blocks
// until every request in flight is finished; it does not touch processes
// started with Start.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		// Every handler that blocks also watches s.done, so this returns
		// once they have written their answers.
		_ = s.srv.Shutdown(context.Background())
		<-s.served
	})
}

// notifyLocked wakes everything waiting for a change of state.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait calls try with s.mu held until it reports done or an error, sleeping
// on state changes in between. Whatever try does under the lock happens
// atomically with its check.
func (s *Server) wait(ctx context.Context, what string, try func() (bool, error)) error {
	for {
		s.mu.Lock()
		ok, err := try()
		changed := s.changed
		s.mu.Unlock()
		if err != nil || ok {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("extensiontest: waiting for %s: %w", what, ctx.Err())
		case <-s.done:
			return ErrClosed
		}
	}
}

// WaitRegistered waits for the first successful registration and returns it.
func (s *Server) WaitRegistered(ctx context.Context) (Registration, error) {
	var r Registration
	err := s.wait(ctx, "registration", func() (bool, error) {
		if len(s.exts) == 0 {
			return false, nil
		}
		r = s.exts[0].reg
		r.Events = slices.Clone(r.Events)
		return true, nil
	})
	return r, err
}

// Registrations returns every successful registration so far.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]Registration, len(s.exts))
	for i, e := range s.exts {
		rs[i] = e.reg
		rs[i].Events = slices.Clone(e.reg.Events)
	}
	return rs
}

// idleLocked reports whether at least one extension registered and every
// registered extension waits in /event/next with nothing handed to it.
func (s *Server) idleLocked() bool {
	if len(s.exts) == 0 {
		return false
	}
	for _, e := range s.exts {
		if e.pending == nil {
			return false
		}
	}
	return true
}

// WaitIdle waits until the registered extensions are all blocked in
// /event/next with no event pending: the moment Lambda considers them done
// (with init, or with the invoke) and may freeze the environment.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.wait(ctx, "idle extension", func() (bool, error) {
		if s.shutdown {
			return false, ErrShutdown
		}
		return s.idleLocked(), nil
	})
}

// NextCalls returns how many /event/next requests arrived, including ones
// that were rejected or failed on purpose.
func (s *Server) NextCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextCalls
}

// WaitNextCalls waits until at least n /event/next requests arrived. Because
// a newer /event/next call supersedes a waiting one of the same extension,
// it is the way to know that a retry has replaced a call the client gave up
// on before delivering the next event.
func (s *Server) WaitNextCalls(ctx context.Context, n int) error {
	return s.wait(ctx, fmt.Sprintf("%d next calls", n), func() (bool, error) {
		return s.nextCalls >= n, nil
	})
}

// Invoke delivers an INVOKE whose deadline is timeout from now. Like Lambda,
// it waits until every registered extension is in /event/next, then hands
// the event to those registered for INVOKE, and returns the event sent.
func (s *Server) Invoke(ctx context.Context, timeout time.Duration) (extension.Event, error) {
	var ev extension.Event
	err := s.wait(ctx, "idle extension to invoke", func() (bool, error) {
		if s.shutdown {
			return false, ErrShutdown
		}
		if !s.idleLocked() {
			return false, nil
		}
		ev = s.newInvoke(time.Now().Add(timeout))
		s.deliverLocked(ev)
		return true, nil
	})
	return ev, err
}

// Shutdown delivers SHUTDOWN with reason ("spindown" if empty) and a
// deadline of now+deadline, once every registered extension is in
// /event/next. Afterwards no more events are delivered: further /event/next
// calls block until Close and then fail.
func (s *Server) Shutdown(ctx context.Context, reason string, deadline time.Duration) (extension.Event, error) {
	return s.sendShutdown(ctx, reason, time.Now().Add(deadline))
}

func (s *Server) sendShutdown(ctx context.Context, reason string, deadline time.Time) (extension.Event, error) {
	if reason == "" {
		reason = "spindown"
	}
	ev := extension.Event{
		EventType:      extension.Shutdown,
		ShutdownReason: reason,
		DeadlineMs:     deadline.UnixMilli(),
	}
	err := s.wait(ctx, "idle extension to shut down", func() (bool, error) {
		if s.shutdown {
			return false, ErrShutdown
		}
		if !s.idleLocked() {
			return false, nil
		}
		s.deliverLocked(ev)
		return true, nil
	})
	if err != nil {
		return extension.Event{}, err
	}
	return ev, nil
}

// deliverLocked hands ev to every waiting extension registered for its type.
// The caller has checked that all extensions are waiting.
func (s *Server) deliverLocked(ev extension.Event) {
	for _, e := range s.exts {
		if e.subscribed(ev.EventType) {
			e.pending <- delivery{event: &ev} // buffered; never blocks
			e.pending = nil
		}
	}
	s.initDone = true
	if ev.EventType == extension.Shutdown {
		s.shutdown = true
	}
	s.notifyLocked()
}

func (s *Server) newInvoke(deadline time.Time) extension.Event {
	return extension.Event{
		EventType:  extension.Invoke,
		DeadlineMs: deadline.UnixMilli(),
		RequestID:  newID(),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s",
			region, accountID, s.opts.FunctionName),
		Tracing: &extension.Tracing{
			Type: "X-Amzn-Trace-Id",
			Value: fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=1",
				time.Now().Unix(), randomHex(12), randomHex(8)),
		},
	}
}

// FailNext makes one /event/next call answer status with a Lambda-style
// error body: the waiting one if there is one, else the next to arrive.
func (s *Server) FailNext(status int) {
	s.fault(delivery{
		status:    status,
		errorType: statusType(status),
		message:   "extensiontest: scripted failure",
	})
}

// DropNext makes one /event/next call lose its connection mid-answer: the
// waiting one if there is one, else the next to arrive. The fake writes part
// of a status line before closing, so the client sees an error; a connection
// closed before any byte would instead be retried transparently by
// net/http's transport when it was a reused one.
func (s *Server) DropNext() {
	s.fault(delivery{drop: true})
}

func (s *Server) fault(d delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.exts {
		if e.pending != nil {
			e.pending <- d
			e.pending = nil
			s.notifyLocked()
			return
		}
	}
	s.faults = append(s.faults, d)
}

// ErrorReports returns the init/error and exit/error calls received so far,
// in order.
func (s *Server) ErrorReports() []ErrorReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reports)
}

// WaitErrorReport waits for the first init/error or exit/error call and
// returns it.
func (s *Server) WaitErrorReport(ctx context.Context) (ErrorReport, error) {
	var r ErrorReport
	err := s.wait(ctx, "error report", func() (bool, error) {
		if len(s.reports) == 0 {
			return false, nil
		}
		r = s.reports[0]
		return true, nil
	})
	return r, err
}
