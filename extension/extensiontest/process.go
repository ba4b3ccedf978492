package extensiontest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
)

// Process is an extension binary started by Server.Start.
type Process struct {
	cmd   *exec.Cmd
	start time.Time
	done  chan struct{} // closed once cmd.Wait returned

	// Set before done is closed, read after.
	exitAt time.Time
	err    error

	mu     sync.Mutex
	killed bool // StopWithShutdown sent SIGKILL
}

// ExitResult describes how a Process ended.
type ExitResult struct {
	Code    int  // exit code, -1 if a signal ended the process
	Killed  bool // StopWithShutdown killed it for overstaying the deadline
	Elapsed time.Duration
}

// Start starts cmd the way Lambda starts an extension: with
// AWS_LAMBDA_RUNTIME_API pointing at s and AWS_LAMBDA_INITIALIZATION_TYPE
// naming the model, appended to cmd.Env (or to os.Environ() if cmd.Env is
// nil) so they win over any inherited value. Under extension.SnapStart there is no
// session token and no static key: the extension's token and credentials
// come from the container credentials endpoint, as Lambda provides them.
// The caller still owns cmd; killing cmd.Process is a fine cleanup.
func (s *Server) Start(cmd *exec.Cmd) (*Process, error) {
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	// Clip, so appending never writes into the caller's backing array.
	env = append(env[:len(env):len(env)], "AWS_LAMBDA_RUNTIME_API="+s.RuntimeAPI(), "AWS_LAMBDA_INITIALIZATION_TYPE="+string(s.opts.Model))
	if s.opts.Model == extension.SnapStart {
		uri, token := s.ContainerCredentials()
		env = append(env, "AWS_SESSION_TOKEN=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI="+uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+token)
	}
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("extensiontest: starting %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, start: time.Now(), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.exitAt = time.Now()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			p.err = err // a non-zero exit is reported in ExitResult.Code instead
		}
		close(p.done)
	}()
	return p, nil
}

// Wait waits for the process to exit. Elapsed is measured from Start. A
// non-zero exit is not an error; the error is for ctx expiring or cmd.Wait
// failing otherwise (for example copying its output).
func (p *Process) Wait(ctx context.Context) (ExitResult, error) {
	select {
	case <-p.done:
		return p.result(p.start), p.err
	case <-ctx.Done():
		return ExitResult{}, fmt.Errorf("extensiontest: waiting for pid %d: %w", p.cmd.Process.Pid, ctx.Err())
	}
}

func (p *Process) result(since time.Time) ExitResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ExitResult{
		Code:    p.cmd.ProcessState.ExitCode(),
		Killed:  p.killed,
		Elapsed: p.exitAt.Sub(since),
	}
}

// kill sends SIGKILL and records that it did.
func (p *Process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd.Process.Kill() == nil {
		p.killed = true
	}
}

// StopWithShutdown shuts the environment down the way Lambda does: it sends
// SHUTDOWN with reason and a deadline d from now, waits for p to exit, and
// SIGKILLs it if it is still alive at the deadline (Killed is then true).
//
// The deadline clock starts when StopWithShutdown is called, and Elapsed is
// measured from then to the exit. An extension that does not come back to
// /event/next before the deadline never sees SHUTDOWN and is killed all the
// same; one that exits before that is simply reported. SHUTDOWN goes to every
// registered extension, since the fake cannot tell which one p registered.
func (s *Server) StopWithShutdown(ctx context.Context, p *Process, reason string, d time.Duration) (ExitResult, error) {
	start := time.Now()
	deadline := start.Add(d)

	// Stop waiting for the extension to reach /event/next once the
	// deadline passes or the process is gone.
	sendCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-sendCtx.Done():
		}
	}()
	if _, err := s.sendShutdown(sendCtx, reason, deadline); err != nil && ctx.Err() != nil {
		return ExitResult{}, fmt.Errorf("extensiontest: sending SHUTDOWN: %w", ctx.Err())
	}
	// Any other failure to send (deadline passed, process gone, SHUTDOWN
	// already sent, server closed) still leaves the deadline to enforce.

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.kill()
		select {
		case <-p.done:
		case <-ctx.Done():
			return ExitResult{}, fmt.Errorf("extensiontest: waiting for killed pid %d: %w", p.cmd.Process.Pid, ctx.Err())
		}
	case <-ctx.Done():
		return ExitResult{}, fmt.Errorf("extensiontest: waiting for pid %d to exit: %w", p.cmd.Process.Pid, ctx.Err())
	}
	return p.result(start), p.err
}

// NewTestServer is NewServer for a test: the server is closed when tb ends.
func NewTestServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

// Context is tb's context bounded to half a minute, so that a call that
// waits on the fake forever fails the test instead of hanging it.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}
