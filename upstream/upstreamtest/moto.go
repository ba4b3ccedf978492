package upstreamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// motoCommand is the emulator executable looked up on PATH.
const motoCommand = "moto_server"

const (
	// defaultStartTimeout bounds StartMoto when ctx has no deadline.
	defaultStartTimeout = 30 * time.Second
	// startAttempts is how many free ports StartMoto tries; another process
	// can grab the port between our probe and moto's bind.
	startAttempts = 3
	// motoOutputLimit is how much of moto's most recent output is kept for
	// error messages.
	motoOutputLimit = 64 << 10
)

// Moto is a running moto_server process. Its methods are safe for
// concurrent use.
type Moto struct {
	url    string
	cmd    *exec.Cmd
	out    *tailBuffer
	http   *http.Client
	exited chan struct{} // closed when the process has been waited for
	err    error         // cmd.Wait result; read only after exited is closed

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers HTTP requests. ctx bounds the start-up only (30s if ctx has no
// deadline); the process lives until Close. If moto_server is not on PATH it
// returns an error saying how to install it.
func StartMoto(ctx context.Context) (*Moto, error) {
	path, err := exec.LookPath(motoCommand)
	if err != nil {
		return nil, fmt.Errorf("upstreamtest: %s not found on PATH (%w); install the Secrets Manager emulator with: pip install 'moto[server]'", motoCommand, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	var errs []error
	for range startAttempts {
		m, err := startMoto(ctx, path)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("upstreamtest: starting %s: %w", motoCommand, errors.Join(errs...))
}

// startMoto makes one attempt at starting moto on a fresh port.
func startMoto(ctx context.Context, path string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{
		url: "http://127.0.0.1:" + strconv.Itoa(port),
		out: &tailBuffer{limit: motoOutputLimit},
		http: &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
			Timeout:   30 * time.Second,
		},
		exited: make(chan struct{}),
		closed: make(chan struct{}),
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = m.out
	cmd.Stderr = m.out
	cmd.WaitDelay = 5 * time.Second // don't hang on pipes held by stray children
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.cmd = cmd
	go func() {
		m.err = cmd.Wait()
		close(m.exited)
	}()
	if err := m.waitReady(ctx); err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("moto on port %d: %w\n%s", port, err, m.out.String())
	}
	return m, nil
}

// waitReady polls moto until it answers, it exits, or ctx ends.
func (m *Moto) waitReady(ctx context.Context) error {
	ticker := time.NewTicker(25 * time.Millisecond)
	defer ticker.Stop()
	for {
		// A probe answered while our process has already died would come
		// from someone else listening on the port; check exit first.
		select {
		case <-m.exited:
			return fmt.Errorf("exited before becoming ready: %v", m.err)
		default:
		}
		if m.probe(ctx) == nil {
			select {
			case <-m.exited:
				return fmt.Errorf("exited before becoming ready: %v", m.err)
			default:
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("exited before becoming ready: %v", m.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", context.Cause(ctx))
		case <-ticker.C:
		}
	}
}

func (m *Moto) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/", nil)
	if err != nil {
		return err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /moto-api/: %s", resp.Status)
	}
	return nil
}

// freePort asks the kernel for a free loopback port. The port is released
// before moto binds it, so another process may take it in between; StartMoto
// retries in that case.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// URL is moto's base URL, "http://127.0.0.1:port".
func (m *Moto) URL() string { return m.url }

// Output returns the most recent output (up to 64 KiB) of the moto process,
// useful in failure messages.
func (m *Moto) Output() string { return m.out.String() }

// Reset deletes all state (secrets, versions, ...) in moto.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return fmt.Errorf("upstreamtest: resetting moto: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upstreamtest: resetting moto: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// Close kills moto and everything in its process group and waits for it to
// exit. It returns an error if moto had already exited on its own (i.e. it
// crashed during the tests). Close is idempotent.
func (m *Moto) Close() error {
	m.closeOnce.Do(func() {
		defer close(m.closed)
		defer m.http.CloseIdleConnections()
		select {
		case <-m.exited:
			m.closeErr = fmt.Errorf("upstreamtest: moto exited before Close: %v\n%s", m.err, m.out.String())
			return
		default:
		}
		if err := killGroup(m.cmd); err != nil {
			// The group may be gone already; fall back to the process.
			_ = m.cmd.Process.Kill()
		}
		<-m.exited
	})
	<-m.closed
	return m.closeErr
}

// RunWithMoto is for TestMain: it starts moto for the whole test binary,
// stores it in *dst, runs the tests, and stops moto. It returns the exit
// code for os.Exit:
//
//	var moto *upstreamtest.Moto
//
//	func TestMain(m *testing.M) { os.Exit(upstreamtest.RunWithMoto(m, &moto)) }
//
// If moto cannot be started (e.g. it is not installed) it prints why and
// returns 1: the tests fail rather than silently skip.
func RunWithMoto(m *testing.M, dst **Moto) int {
	moto, err := StartMoto(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	*dst = moto
	code := m.Run()
	*dst = nil
	if err := moto.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StartTestMoto starts a moto of tb's own, for a test whose emulator no
// other test may touch; it is closed when tb ends, and tb fails if it
// cannot start within a minute.
func StartTestMoto(tb testing.TB) *Moto {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	moto, err := StartMoto(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { moto.Close() })
	return moto
}

// tailBuffer is an io.Writer keeping the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.limit {
		p = p[len(p)-b.limit:]
		b.buf = b.buf[:0]
	}
	if over := len(b.buf) + len(p) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(string(b.buf))
}
