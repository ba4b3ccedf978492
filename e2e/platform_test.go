package e2e

// The platform rows of the fault matrix: the Extensions API failing, and
// the ways an environment is shut down.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
)

// shutdownLines is the extension's log from SHUTDOWN on.
func shutdownLines(l *instance) string {
	out := l.output.String()
	if i := strings.Index(out, `"msg":"shutdown requested"`); i >= 0 {
		if j := strings.LastIndexByte(out[:i], '\n'); j >= 0 {
			return out[j+1:]
		}
	}
	return out
}

func TestFaultMatrixPlatform(t *testing.T) {
	resetMoto(t, starfleetSecret)

	t.Run("RegisterAnswers500", func(t *testing.T) {
		t.Parallel()
		l := start(t, withPlatform(extensiontest.Options{RegisterStatus: 500}))
		res := l.waitExit(15 * time.Second)
		if res.Code == 0 {
			t.Errorf("exit code 0 after a failed register")
		}
		out := l.output.String()
		if !strings.Contains(out, `"msg":"register failed"`) || !strings.Contains(out, "500") {
			t.Errorf("no clear log line for the failed register:\n%s", out)
		}
		t.Logf("register 500: exit %d after %v", res.Code, res.Elapsed.Round(time.Millisecond))
	})

	for _, tt := range []struct {
		name  string
		fault func(*extensiontest.Server)
	}{
		{"NextAnswers500", func(s *extensiontest.Server) { s.FailNext(500) }},
		{"NextDropsTheConnection", func(s *extensiontest.Server) { s.DropNext() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := start(t)
			l.waitInit()
			l.invoke()
			start := time.Now()
			tt.fault(l.platform)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			report, err := l.platform.WaitErrorReport(ctx)
			if err != nil {
				t.Fatalf("no exit/error report: %v\n%s", err, l.output)
			}
			if report.Init || report.ErrorType != "Extension.EventLoopFailed" {
				t.Errorf("report init=%v type %q, want an exit/error Extension.EventLoopFailed", report.Init, report.ErrorType)
			}
			res := l.waitExit(10 * time.Second)
			elapsed := time.Since(start)
			if res.Code == 0 {
				t.Errorf("exit code 0 after the event loop failed")
			}
			if elapsed > 3*time.Second {
				t.Errorf("exited %v after the failure, want promptly", elapsed)
			}
			t.Logf("%s: exit/error %s, exit %d after %v", tt.name, report.ErrorType, res.Code, elapsed.Round(time.Millisecond))
			assertNoLeak(t, l, secretValues, string(report.Body))
		})
	}

	t.Run("Shutdown100msDeadline", func(t *testing.T) {
		t.Parallel()
		for i := range 3 {
			l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s"))
			l.waitInit()
			l.invoke()
			if a := l.get("GET", "/secret/STARFLEET"); a.status != 200 {
				t.Fatalf("GET: %d", a.status)
			}
			res := l.shutdown(100 * time.Millisecond)
			t.Logf("run %d: SHUTDOWN with 100 ms: exit %d, killed %v, after %v", i, res.Code, res.Killed, res.Elapsed.Round(time.Millisecond))
			if res.Code != 0 || res.Killed {
				t.Errorf("run %d: %+v, want exit 0 before the deadline; the extension's own account:\n%s", i, res, shutdownLines(l))
			}
			assertNoLeak(t, l, secretValues)
		}
	})

	// The same with a request waiting on an upstream fetch that never
	// answers: the fetch is cancelled, the process still exits in time.
	t.Run("Shutdown100msDeadlineFetchInFlight", func(t *testing.T) {
		t.Parallel()
		l := start(t, withEnv("STARFLEET_SECRETS_TTL=0", "STARFLEET_SECRETS_FETCH_TIMEOUT=30s"))
		l.waitInit()
		l.proxy.Hold("GetSecretValue")
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.try(context.Background(), "GET", "/secret/STARFLEET")
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := l.proxy.WaitHeld(ctx, "GetSecretValue", 1); err != nil {
			t.Fatal(err)
		}
		res := l.shutdown(100 * time.Millisecond)
		t.Logf("SHUTDOWN with 100 ms, a fetch in flight: exit %d, killed %v, after %v", res.Code, res.Killed, res.Elapsed.Round(time.Millisecond))
		if res.Code != 0 || res.Killed {
			t.Errorf("%+v, want exit 0 before the deadline; the extension's own account:\n%s", res, shutdownLines(l))
		}
		l.proxy.Release("GetSecretValue")
		<-done
	})

	t.Run("SecondShutdown", func(t *testing.T) {
		t.Parallel()
		l := start(t)
		l.waitInit()
		if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
			t.Fatalf("first SHUTDOWN: %+v", res)
		}
		calls := l.platform.NextCalls()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.platform.Shutdown(ctx, "spindown", time.Second); !errors.Is(err, extensiontest.ErrShutdown) {
			t.Errorf("second SHUTDOWN: %v, want the platform to refuse it (ErrShutdown)", err)
		}
		if n := l.platform.NextCalls(); n != calls {
			t.Errorf("%d /event/next calls after SHUTDOWN", n-calls)
		}
	})
}

// TestSIGTERMFinishesInFlightRequests: SIGTERM while requests wait on
// upstream fetches. The listener closes, the requests in flight are
// answered 200 with their secret, and the process exits 0. Each request
// reads its own secret through /secretsmanager/get, so that the proxy
// holding every fetch proves every request is inside the handler.
func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const inFlight = 12
	for i := range inFlight {
		createSecret(t, fmt.Sprintf("InFlight-%d", i), fmt.Sprintf("inflight-value-%d-Rk5Tq", i))
	}
	l := start(t, withEnv("STARFLEET_SECRETS_FETCH_TIMEOUT=10s"))
	l.waitInit()
	l.proxy.Hold("GetSecretValue")
	var wg sync.WaitGroup
	answers := make(chan string, inFlight)
	for i := range inFlight {
		wg.Go(func() {
			a, err := l.try(context.Background(), "GET", fmt.Sprintf("/secretsmanager/get?secretId=InFlight-%d", i))
			switch {
			case err != nil:
				answers <- err.Error()
			case a.status != 200 || !strings.Contains(a.body, fmt.Sprintf(`"inflight-value-%d-Rk5Tq"`, i)):
				answers <- fmt.Sprintf("%d %s", a.status, a.body)
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := l.proxy.WaitHeld(ctx, "GetSecretValue", inFlight); err != nil {
		t.Fatal(err)
	}
	l.stopped = true
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Once the listener is closed the shutdown is under way; only then is
	// the fetch let go.
	addr := strings.TrimPrefix(l.base, "http://")
	if !poll(t, 5*time.Second, 10*time.Millisecond, func() bool {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		t.Fatal("the listener stayed open after SIGTERM")
	}
	released := time.Now()
	l.proxy.Release("GetSecretValue")
	wg.Wait()
	t.Logf("in-flight requests answered %v after the release", time.Since(released).Round(time.Millisecond))
	close(answers)
	for a := range answers {
		t.Errorf("in-flight request: %s, want 200 and its secret", a)
	}
	res := l.waitExit(10 * time.Second)
	t.Logf("exit %d, %v after the release", res.Code, time.Since(released).Round(time.Millisecond))
	if res.Code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", res.Code)
	}
	assertNoLeak(t, l, []string{"Rk5Tq"})
}
