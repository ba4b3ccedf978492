// Command bare is the warm-read baseline of the benchmarks: the smallest
// net/http server that answers every request with the same bytes
// starfleet-secrets answers for one slice (same body, same header set).
//
// It exists so that `make bench` can report the extension's throughput and
// latency as ratios against what net/http alone costs on this machine, in the
// same run: an absolute requests-per-second figure from a noisy 2-core machine
// means little, a ratio against a bare server means "what our routing, token
// check and cache lookup add". It is never shipped.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 0, "loopback port to listen on (required)")
	bodyFile := flag.String("body", "", "file holding the response body (required)")
	etag := flag.String("etag", `"bare"`, "ETag header value, to match the extension's header bytes")
	timeouts := flag.Bool("timeouts", false, "set the extension's http.Server timeouts (read, write, idle), to separate their cost from the handler's")
	flag.Parse()
	if err := run(*port, *bodyFile, *etag, *timeouts); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(port int, bodyFile, etag string, timeouts bool) error {
	if port <= 0 || bodyFile == "" {
		return errors.New("-port and -body are required")
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	length := strconv.Itoa(len(body))
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "application/json")
		h.Set("Etag", etag)
		h.Set("Age", "0")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})}
	if timeouts {
		// As server.NewHTTPServer sets them, with the default 5 s fetch
		// timeout.
		srv.ReadHeaderTimeout = 5 * time.Second
		srv.ReadTimeout = 10 * time.Second
		srv.WriteTimeout = 15 * time.Second
		srv.IdleTimeout = 5 * time.Minute
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
