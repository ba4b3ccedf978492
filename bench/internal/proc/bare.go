package proc

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Bare is bench/cmd/bare, the warm reads' baseline, serving a fixed body.
type Bare struct {
	Port   int
	cmd    *exec.Cmd
	output *Output
	exited chan struct{}
}

// BareArgs are the arguments that make bench/cmd/bare answer on port with
// the bytes of bodyFile and etag, with the extension's http.Server
// timeouts if timeouts is set (a diagnostic).
func BareArgs(port int, bodyFile, etag string, timeouts bool) []string {
	args := []string{"-port", strconv.Itoa(port), "-body", bodyFile, "-etag", etag}
	if timeouts {
		args = append(args, "-timeouts")
	}
	return args
}

// StartBare runs bin with args (from BareArgs) and returns once it listens
// on port.
func StartBare(ctx context.Context, bin string, port int, args []string) (*Bare, error) {
	b := &Bare{Port: port, output: &Output{}, exited: make(chan struct{})}
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
	if _, err := WaitListening(wctx, "127.0.0.1:"+strconv.Itoa(port), b.exited, time.Millisecond); err != nil {
		b.Stop()
		return nil, fmt.Errorf("bare: %w\n%s", err, b.output)
	}
	return b, nil
}

// PID is the server's process id.
func (b *Bare) PID() int { return b.cmd.Process.Pid }

// Stop ends the server with SIGTERM, then SIGKILL after 5 s.
func (b *Bare) Stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
}
