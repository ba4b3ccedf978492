package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// benchToken is the token every request presents: 1024 bytes, the size of
// a Lambda AWS_SESSION_TOKEN, since the server hashes it on every request.
var benchToken = strings.Repeat("IQoJb3JpZ2luX2VjE", 64)[:1024]

const (
	secretID    = "Starfleet"
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
)

// emulator is one moto holding the Starfleet secret, shared by every part.
type emulator struct {
	moto    *upstreamtest.Moto
	baseEnv []string
}

func startEmulator(ctx context.Context, c config) (*emulator, error) {
	raw, err := os.ReadFile(c.secret)
	if err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	moto, err := upstreamtest.StartMoto(startCtx)
	if err != nil {
		return nil, err
	}
	_, err = upstreamtest.Client(moto.URL()).CreateSecret(startCtx, &secretsmanager.CreateSecretInput{
		Name: aws.String(secretID), SecretString: aws.String(string(raw)),
	})
	if err != nil {
		moto.Close()
		return nil, fmt.Errorf("creating the secret in moto: %w", err)
	}
	return &emulator{moto: moto, baseEnv: cleanEnv(os.Environ())}, nil
}

func (e *emulator) close() {
	if e != nil {
		e.moto.Close()
	}
}

func (e *emulator) describe() string {
	return "moto_server -H 127.0.0.1 -p <free port>  # started by upstreamtest.StartMoto, secret " + secretID + " created from the testdata file"
}

// cleanEnv drops every variable that could change what the extension does,
// so a developer's shell cannot skew the figures.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "STARFLEET_"), strings.HasPrefix(name, "PARAMETERS_SECRETS_"),
			strings.HasPrefix(name, "SECRETS_MANAGER_"), strings.HasPrefix(name, "AWS_"),
			name == "GODEBUG", name == "GOGC", name == "GOMEMLIMIT", name == "GOMAXPROCS":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// extEnv is the environment of the extension reading Secrets Manager at
// upstream (moto, or a upstreamtest.Proxy in front of it).
func (e *emulator) extEnv(upstream string, port int, ttl string) []string {
	env := append([]string(nil), e.baseEnv...)
	env = append(env, upstreamtest.Env(upstream)...)
	return append(env,
		"STARFLEET_SECRET_ID="+secretID,
		"STARFLEET_SECRETS_TOKEN="+benchToken,
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(port),
		"STARFLEET_SECRETS_TTL="+ttl,
	)
}

// startBehindProxy starts the extension under extensiontest on a free port,
// reading moto through a new counting proxy, with TTL ttl, and returns once
// it is idle. The caller closes the proxy and stops the process.
func startBehindProxy(ctx context.Context, c config, env *emulator, ttl string) (*extProc, *upstreamtest.Proxy, error) {
	proxy := upstreamtest.NewProxy(env.moto.URL())
	port, err := freePort()
	if err != nil {
		proxy.Close()
		return nil, nil, err
	}
	p := newExtProc(port)
	if err := p.startIdle(ctx, c.bin, env.extEnv(proxy.URL(), port, ttl)); err != nil {
		proxy.Close()
		return nil, nil, err
	}
	return p, proxy, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer keeps the last 64 KiB a process wrote, for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 64<<10; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}

// extProc is an extension binary running under a fake Extensions API.
type extProc struct {
	api    *extensiontest.Server
	proc   *extensiontest.Process
	cmd    *exec.Cmd
	port   int
	output *syncBuffer
	exited chan struct{}
}

// newExtProc makes a fake Extensions API for one extension on port; start
// runs the binary under it. Waiters on p.api may be set up in between.
func newExtProc(port int) *extProc {
	return &extProc{api: extensiontest.NewServer(extensiontest.Options{}), port: port, output: &syncBuffer{}, exited: make(chan struct{})}
}

// start runs bin and returns the instant just before the fork.
func (p *extProc) start(bin string, env []string, wrap ...string) (time.Time, error) {
	p.cmd = exec.Command(bin)
	if len(wrap) > 0 {
		p.cmd = exec.Command(wrap[0], append(wrap[1:], bin)...)
	}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	p.cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	proc, err := p.api.Start(p.cmd)
	if err != nil {
		p.api.Close()
		return started, err
	}
	p.proc = proc
	go func() {
		proc.Wait(context.Background())
		close(p.exited)
	}()
	return started, nil
}

// startIdle starts bin and waits until it is idle in /event/next
// (registered, secret prefetched); if it never gets there, it is killed.
func (p *extProc) startIdle(ctx context.Context, bin string, env []string) error {
	if _, err := p.start(bin, env); err != nil {
		return err
	}
	idleCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.api.WaitIdle(idleCtx); err != nil {
		p.kill()
		return fmt.Errorf("extension not idle: %w\n%s", err, p.output)
	}
	return nil
}

func (p *extProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }
func (p *extProc) pid() int     { return p.cmd.Process.Pid }

// stop sends SHUTDOWN the way Lambda does and checks the exit.
func (p *extProc) stop(ctx context.Context) error {
	defer p.api.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.api.StopWithShutdown(ctx, p.proc, "spindown", 2*time.Second)
	if err != nil {
		p.cmd.Process.Kill()
		return err
	}
	if res.Code != 0 || res.Killed {
		return fmt.Errorf("%s exited with %d (killed: %v):\n%s", p.cmd.Path, res.Code, res.Killed, p.output)
	}
	return nil
}

// kill ends the process at once (cleanup after a failure).
func (p *extProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
	p.api.Close()
}

// waitListening dials addr in a tight loop until it connects, the process
// exits, or ctx ends, and returns when it connected. Bounded in time (ctx)
// and in attempts.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) (time.Time, error) {
	const maxAttempts = 5_000_000
	d := net.Dialer{Timeout: time.Second}
	for range maxAttempts {
		conn, err := d.DialContext(ctx, "tcp4", addr)
		if err == nil {
			at := time.Now()
			conn.Close()
			return at, nil
		}
		select {
		case <-exited:
			return time.Time{}, fmt.Errorf("process exited before listening on %s", addr)
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("not listening on %s: %w", addr, ctx.Err())
		default:
		}
		pausePoll()
	}
	return time.Time{}, fmt.Errorf("not listening on %s after %d attempts", addr, maxAttempts)
}

// getOnce sends one GET with the token on a new connection and returns the
// status, body and ETag.
func getOnce(ctx context.Context, client *http.Client, url string) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set(tokenHeader, benchToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(nil, resp.Body, 1<<20)); err != nil {
		return 0, nil, "", err
	}
	return resp.StatusCode, body.Bytes(), resp.Header.Get("ETag"), nil
}

// newClient is an HTTP client for loopback, without keep-alive unless asked.
func newClient(keepAlive bool, conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: conns,
		},
		Timeout: 30 * time.Second,
	}
}

// procStatus reads a field of /proc/<pid>/status in bytes ("VmRSS",
// "VmHWM").
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusField(string(b), field)
}

func parseStatusField(status, field string) (int64, error) {
	for line := range strings.Lines(status) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected %q", field, value)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		return n * 1024, err
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// cpuTime is the user+system CPU time a process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// threadsCPU is the CPU time every thread of a process has run so far, to
// the nanosecond: the sum of /proc/PID/task/*/schedstat's first field
// (utime and stime in /proc/PID/stat count 10 ms ticks, too coarse for a
// start-up).
func threadsCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d: %v", pid, err)
	}
	var total time.Duration
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed %s", path)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// clockTick is USER_HZ, 100 on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

func parseStatCPU(stat string) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat")
	}
	return time.Duration(u+s) * clockTick, nil
}

// serverSockets counts the established server-side TCP sockets on port and
// how many of them still have unread request bytes, from /proc/net/tcp.
func serverSockets(port int) (established, unread int, err error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, 0, err
	}
	return parseProcNetTCP(string(b), port)
}

func parseProcNetTCP(table string, port int) (established, unread int, err error) {
	want := fmt.Sprintf(":%04X", port)
	for line := range strings.Lines(table) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "sl" {
			continue
		}
		if !strings.HasSuffix(f[1], want) || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		established++
		_, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			return 0, 0, fmt.Errorf("malformed queue %q", f[4])
		}
		if n, err := strconv.ParseUint(rx, 16, 64); err != nil {
			return 0, 0, err
		} else if n > 0 {
			unread++
		}
	}
	return established, unread, nil
}

// bareTimeouts gives the baseline server the extension's http.Server
// timeouts (-bare-timeouts).
var bareTimeouts bool

// bareServer is bench/cmd/bare serving body.
type bareServer struct {
	cmd    *exec.Cmd
	port   int
	output *syncBuffer
	exited chan struct{}
}

func startBare(ctx context.Context, r *report, bin string, port int, bodyFile, etag string) (*bareServer, error) {
	b := &bareServer{port: port, output: &syncBuffer{}, exited: make(chan struct{})}
	args := []string{"-port", strconv.Itoa(port), "-body", bodyFile, "-etag", etag}
	if bareTimeouts {
		args = append(args, "-timeouts")
	}
	r.command(shellQuote(bin, args...) + " &")
	b.cmd = exec.Command(bin, args...)
	b.cmd.Stdout, b.cmd.Stderr = b.output, b.output
	b.cmd.WaitDelay = 5 * time.Second
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := waitListening(wctx, "127.0.0.1:"+strconv.Itoa(port), b.exited); err != nil {
		b.stop()
		return nil, fmt.Errorf("bare: %w\n%s", err, b.output)
	}
	return b, nil
}

func (b *bareServer) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
}

// pollPause is the pause between two connect attempts of waitListening. A
// pure spin (0: runtime.Gosched only) takes one of this machine's two cores
// from the process being timed and delays both binaries by about 10 ms,
// which compresses their ratio; a short sleep keeps the loop tight without
// that.
var pollPause = 250 * time.Microsecond

func pausePoll() {
	if pollPause > 0 {
		time.Sleep(pollPause)
		return
	}
	runtime.Gosched()
}
