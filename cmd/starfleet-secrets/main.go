// Command starfleet-secrets is a Lambda extension (and, outside Lambda, a
// local sidecar) that serves slices of the Starfleet secret from an
// in-memory cache on http://127.0.0.1:2773.
//
// This file runs the lifecycle in the order the interface contract sets:
// configure, listen, register, prefetch, serve events, shut down; sidecar.go
// builds what it runs.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/migrate"
	"github.com/starfleet/starfleet-secrets/server/loopback"
)

// Set at link time by the Makefile.
var (
	version = "dev"
	commit  = "unknown"
)

// userAgent is the product token of the extension's requests to AWS, which
// CloudTrail records: "starfleet-secrets/VERSION", any character an HTTP
// token may not hold in the version replaced by "-".
func userAgent(version string) string {
	return "starfleet-secrets/" + strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return r
		}
		return '-'
	}, version)
}

// Error types reported to Lambda; they appear in the function's logs.
const (
	errConfigInvalid = "Extension.ConfigInvalid"
	errListenFailed  = "Extension.ListenFailed"
	errEventLoop     = "Extension.EventLoopFailed"
)

// localShutdownBudget is how long a local sidecar gives in-flight requests
// after SIGTERM; ECS's default stop timeout is 30 s, so 5 s is safe.
const localShutdownBudget = 5 * time.Second

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Printf("starfleet-secrets %s (commit %s)\n", version, commit)
		return
	}
	if err := makeUndumpable(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Warn("the process stays dumpable: another process of the same user could read its memory",
			"event", "harden_failed", "error", err.Error())
	}
	if len(os.Args) > 1 && (os.Args[1] == "split" || os.Args[1] == "join") {
		os.Exit(migrate.Command(context.Background(), os.Args[1], os.Args[2:], migrateService(os.LookupEnv), os.Stdout, os.Stderr))
	}
	os.Exit(run(os.LookupEnv, os.Stderr, os.Stdout))
}

// run is the whole process: logs go to logOut, EMF metrics to metricsOut
// (Lambda reads both into CloudWatch Logs).
func run(lookup LookupFunc, logOut, metricsOut io.Writer) int {
	// Until it has registered, all the extension does delays the
	// function's cold start, at a fraction of a CPU in a small function: it
	// does only what registering needs, and the rest (signal handling,
	// with its goroutine and thread; the IPv6 listener) after.
	initCtx := context.Background()
	cfg, err := LoadConfig(lookup)
	log := newLogger(cfg.Log, logOut)
	var ext *extension.Client
	if cfg.InLambda() {
		ext = extension.NewClient(cfg.Lambda.RuntimeAPI, nil)
	}
	if err != nil {
		return failInit(initCtx, ext, log, errConfigInvalid, err)
	}
	// Listen before registering: the runtime starts once every extension
	// has registered, and its first request must not meet a closed port.
	ln, err := loopback.ListenIPv4(cfg.Server.Port)
	if err != nil {
		return failInit(initCtx, ext, log, errListenFailed, err)
	}
	// Outside Lambda, and wherever the platform sends no INVOKE, nothing
	// freezes the process: values are then refreshed ahead of expiry.
	frozen := false
	if ext != nil {
		if frozen, err = register(initCtx, ext, cfg.Lambda.Model, log); err != nil {
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if ln, err = loopback.AddIPv6(ln); err != nil {
		return failInit(ctx, ext, log, errListenFailed, err)
	}
	// Building the sidecar loads the AWS configuration; it is done after
	// registering so that it does not delay the function's cold start.
	s, err := newSidecar(ctx, cfg, lookup, log, metricsOut, !frozen)
	if err != nil {
		return failInit(ctx, ext, log, errConfigInvalid, err)
	}
	return s.lifetime(ctx, ext, ln, frozen)
}

// register registers for the events the execution model allows and
// reports whether INVOKE is among them.
func register(ctx context.Context, ext *extension.Client, model extension.Model, log *slog.Logger) (invokes bool, err error) {
	invokes, refused, err := ext.RegisterFor(ctx, extensionName(), model)
	if refused != nil {
		log.Warn("the platform refused INVOKE events; registering for SHUTDOWN alone and refreshing in the background",
			"event", "register", "model", model, "error", refused.Error())
	}
	if err != nil {
		log.Error("register failed", "event", "register", "error", err.Error())
		return false, err
	}
	log.Info("registered", "event", "register", "version", version, "model", model, "invoke_events", invokes)
	return invokes, nil
}

// failInit reports an initialisation failure to Lambda (which requires the
// extension to register first) and returns the exit code.
func failInit(ctx context.Context, ext *extension.Client, log *slog.Logger, errorType string, err error) int {
	log.Error("cannot start", "event", "init_error", "error_type", errorType, "error", err.Error())
	if ext == nil {
		return 2
	}
	if ext.ExtensionID() == "" {
		// SHUTDOWN alone: every model accepts it, and reporting needs no more.
		if _, rerr := ext.Register(ctx, extensionName(), extension.Shutdown); rerr != nil {
			log.Error("register failed", "event", "register", "error", rerr.Error())
			return 1
		}
	}
	if rerr := ext.InitError(ctx, errorType, err); rerr != nil {
		log.Error("reporting init error failed", "event", "init_error", "error", rerr.Error())
	}
	return 1
}

// extensionName is the name Lambda knows the extension by: the executable's
// base name, as the Extensions API requires.
func extensionName() string {
	return filepath.Base(os.Args[0])
}

func newLogger(cfg LogConfig, out io.Writer) *slog.Logger {
	if cfg.Off {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.Level}))
}
