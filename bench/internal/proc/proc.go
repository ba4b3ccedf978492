// Package proc starts the processes the benchmarks time (the extension
// under a fake Extensions API, the bare baseline server) and reads what the
// kernel knows of them: CPU time, resident memory, sockets, a capped CPU
// cgroup. It is the benchmarks' one window onto processes, kept apart from
// what they measure and how they report it.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
)

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Output keeps the last 64 KiB a process wrote, for error messages; it is
// safe for the process's stdout and stderr to share.
type Output struct {
	mu  sync.Mutex
	buf []byte
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 64<<10; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}

// Ext is an extension binary running under a fake Extensions API.
type Ext struct {
	API    *extensiontest.Server
	Port   int
	Output *Output
	// Exited is closed when the process has exited.
	Exited chan struct{}

	proc *extensiontest.Process
	cmd  *exec.Cmd
}

// NewExt makes a fake Extensions API for one extension on port; Start runs
// the binary under it. Waiters on API may be set up in between.
func NewExt(port int) *Ext {
	return &Ext{API: extensiontest.NewServer(extensiontest.Options{}), Port: port, Output: &Output{}, Exited: make(chan struct{})}
}

// Start runs bin (through the command prefix wrap, if given) and returns
// the instant just before the fork.
func (p *Ext) Start(bin string, env []string, wrap ...string) (time.Time, error) {
	p.cmd = exec.Command(bin)
	if len(wrap) > 0 {
		p.cmd = exec.Command(wrap[0], append(wrap[1:], bin)...)
	}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.Output, p.Output
	p.cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	proc, err := p.API.Start(p.cmd)
	if err != nil {
		p.API.Close()
		return started, err
	}
	p.proc = proc
	go func() {
		proc.Wait(context.Background())
		close(p.Exited)
	}()
	return started, nil
}

// StartIdle starts bin and waits until it is idle in /event/next
// (registered, secret prefetched); if it never gets there, it is killed.
func (p *Ext) StartIdle(ctx context.Context, bin string, env []string) error {
	if _, err := p.Start(bin, env); err != nil {
		return err
	}
	idleCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.API.WaitIdle(idleCtx); err != nil {
		p.Kill()
		return fmt.Errorf("extension not idle: %w\n%s", err, p.Output)
	}
	return nil
}

// Addr is where the extension listens.
func (p *Ext) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// PID is the started process's id.
func (p *Ext) PID() int { return p.cmd.Process.Pid }

// Stop sends SHUTDOWN the way Lambda does and checks the exit.
func (p *Ext) Stop(ctx context.Context) error {
	defer p.API.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.API.StopWithShutdown(ctx, p.proc, "spindown", 2*time.Second)
	if err != nil {
		p.cmd.Process.Kill()
		return err
	}
	if res.Code != 0 || res.Killed {
		return fmt.Errorf("%s exited with %d (killed: %v):\n%s", p.cmd.Path, res.Code, res.Killed, p.Output)
	}
	return nil
}

// Kill ends the process at once (cleanup after a failure).
func (p *Ext) Kill() {
	p.cmd.Process.Kill()
	<-p.Exited
	p.API.Close()
}

// WaitListening dials addr in a tight loop until it connects, the process
// exits (exited closes), or ctx ends, and returns when it connected.
// Between attempts it sleeps pause: a pure spin (0: runtime.Gosched only)
// takes one of a small machine's cores from the process being timed and
// delays it. Bounded in time (ctx) and in attempts.
func WaitListening(ctx context.Context, addr string, exited <-chan struct{}, pause time.Duration) (time.Time, error) {
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
		if pause > 0 {
			time.Sleep(pause)
		} else {
			runtime.Gosched()
		}
	}
	return time.Time{}, fmt.Errorf("not listening on %s after %d attempts", addr, maxAttempts)
}
