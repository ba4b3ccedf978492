// Command starfleet-secrets is a Lambda extension (and, outside Lambda, a
// local sidecar) that serves slices of the Starfleet secret from an
// in-memory cache on http://127.0.0.1:2773.
//
// This file only wires the packages together and runs the lifecycle in the
// order the interface contract sets: configure, listen, register, prefetch,
// serve events, shut down.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/server"
)

// Set at link time by the Makefile.
var (
	version = "dev"
	commit  = "unknown"
)

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
	os.Exit(run(os.LookupEnv, os.Stderr, os.Stdout))
}

// run is the whole process: logs go to logOut, EMF metrics to metricsOut
// (Lambda reads both into CloudWatch Logs).
func run(lookup LookupFunc, logOut, metricsOut io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cfg, err := LoadConfig(lookup)
	log := newLogger(cfg, logOut)
	runtimeAPI, _, _ := lookup.first("AWS_LAMBDA_RUNTIME_API")
	var ext *extension.Client
	if runtimeAPI != "" {
		ext = extension.NewClient(runtimeAPI, nil)
	}
	if err != nil {
		return failInit(ctx, ext, log, errConfigInvalid, err)
	}

	// Listen before registering: the runtime starts once every extension
	// has registered, and its first request must not meet a closed port.
	ln, err := server.Listen(cfg.Port)
	if err != nil {
		return failInit(ctx, ext, log, errListenFailed, err)
	}
	// frozen: Lambda freezes the environment between invokes, so nothing
	// may run on a timer; outside Lambda and under Managed Instances the
	// process runs all the time.
	frozen := false
	if ext != nil {
		invokes, err := register(ctx, ext, cfg, log)
		if err != nil {
			log.Error("register failed", "event", "register", "error", err.Error())
			return 1
		}
		frozen = invokes
		log.Info("registered", "event", "register", "version", version, "model", cfg.Model, "invoke_events", invokes)
	}
	log.Info("configured", "event", "config", "secret_id", cfg.SecretID, "secret_id_from", cfg.SecretIDFrom,
		"region", cfg.Region, "region_from", cfg.RegionFrom)

	// Building the source loads the AWS configuration; it is done after
	// registering so that it does not delay the function's cold start.
	recorder := metrics.New()
	src, params, err := newSources(ctx, cfg, recorder)
	if err != nil {
		return failInit(ctx, ext, log, errConfigInvalid, err)
	}
	emitter := &metrics.Emitter{
		Recorder: recorder,
		Format:   metrics.EMF{Namespace: cfg.MetricsNamespace, Dimensions: metricDimensions(cfg)},
		Out:      metricsOut,
		Interval: time.Minute,
	}
	if !cfg.Metrics {
		emitter.Out = io.Discard
	}
	policy := cache.NewPolicy(cfg.TTL, cfg.MaxStale, cfg.FetchTimeout)
	paramPolicy := cache.NewPolicy(cfg.ParameterTTL, cfg.MaxStale, cfg.ParameterFetchTimeout)
	// Where nothing freezes, values are refreshed ahead of expiry, and a
	// reader never waits on a refresh.
	policy.NeverWait, paramPolicy.NeverWait = !frozen, !frozen
	secrets := cache.New(cache.Options{
		Source:       src,
		Policy:       policy,
		FetchTimeout: cfg.FetchTimeout,
		Primary:      cache.Key{SecretID: cfg.SecretID, VersionStage: cfg.VersionStage},
		Size:         cfg.CacheSize,
		Logger:       log,
		Metrics:      recorder,

		Parameters:            params,
		ParameterPolicy:       paramPolicy,
		ParameterFetchTimeout: cfg.ParameterFetchTimeout,
	})
	api := server.New(server.Options{Store: secrets, Token: cfg.Token, Allow: cfg.Allow, Logger: log, Metrics: recorder})
	srv := server.NewHTTPServer(api, cfg.FetchTimeout, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(server.LimitListener(ln, cfg.MaxConnections, log)) }()
	log.Info("serving", "event", "listen", "addr", ln.Addr().String(), "lambda", ext != nil, "source", sourceName(cfg))

	// Prefetch while the runtime initialises. Requests that arrive first
	// join this fetch instead of failing.
	prefetched := make(chan struct{})
	if cfg.prefetchesDuringInit() {
		go func() {
			defer close(prefetched)
			prefetch(ctx, secrets, cfg.Prefetch, log)
		}()
	} else {
		close(prefetched)
		log.Info("no prefetch under SnapStart: what INIT fetches is stored in the snapshot; the first INVOKE fetches", "event", "prefetch")
	}

	if !frozen {
		background, stopBackground := context.WithCancel(ctx)
		defer stopBackground()
		go secrets.RefreshAhead(background)
		go emitEvery(background, emitter, log)
	}

	exitCode := 0
	var deadline time.Time
	if ext != nil {
		// Ask for the next event only once the prefetch has settled, so a
		// pre-warmed environment is frozen with the secret in memory.
		select {
		case <-prefetched:
		case <-ctx.Done():
		}
		shutdown, err := ext.Loop(ctx, func(context.Context, extension.Event) {
			secrets.RefreshIfExpired(secrets.Primary())
			emitMetrics(emitter.MaybeEmit, log)
		})
		switch {
		case err == nil:
			deadline = shutdown.Deadline()
			log.Info("shutdown requested", "event", "shutdown", "reason", shutdown.ShutdownReason)
		case ctx.Err() != nil:
			deadline = time.Now().Add(localShutdownBudget)
		default:
			log.Error("event loop failed", "event", "next", "error", err.Error())
			reportCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			ext.ExitError(reportCtx, errEventLoop, err)
			cancel()
			deadline = time.Now().Add(time.Second)
			exitCode = 1
		}
	} else {
		select {
		case <-ctx.Done():
		case err := <-served:
			log.Error("server stopped", "event", "serve", "error", err.Error())
			exitCode = 1
		}
		deadline = time.Now().Add(localShutdownBudget)
	}
	shutdownBefore(deadline, srv, secrets, log)
	emitMetrics(emitter.Emit, log)
	return exitCode
}

// prefetch warms the Starfleet secret and the configured extras at once,
// returning when every fetch has settled.
func prefetch(ctx context.Context, secrets *cache.Cache, extras []cache.Key, log *slog.Logger) {
	start := time.Now()
	var wg sync.WaitGroup
	if len(extras) > 0 {
		wg.Go(func() {
			if err := secrets.Prefetch(ctx, extras); err != nil {
				log.Warn("prefetch of extras incomplete; requests will fetch what is missing", "event", "prefetch",
					"error", err.Error(), "duration_ms", time.Since(start).Milliseconds())
			}
		})
	}
	_, err := secrets.Get(ctx, secrets.Primary(), false)
	wg.Wait()
	if err != nil {
		log.Warn("prefetch failed; requests will retry", "event", "prefetch", "error", err.Error(),
			"duration_ms", time.Since(start).Milliseconds())
		return
	}
	log.Info("prefetched", "event", "prefetch", "extras", len(extras), "duration_ms", time.Since(start).Milliseconds())
}

// register registers for the events the execution model allows and
// reports whether INVOKE is among them. Managed Instances refuses INVOKE to
// extensions, so SHUTDOWN alone is asked for there; a platform that refuses
// INVOKE in another model gets a second registration for SHUTDOWN alone, and
// the extension then runs as under Managed Instances instead of failing
// init (and with it the environment).
func register(ctx context.Context, ext *extension.Client, cfg Config, log *slog.Logger) (invokes bool, err error) {
	if cfg.neverFrozen() {
		_, err := ext.Register(ctx, extensionName(), extension.Shutdown)
		return false, err
	}
	_, err = ext.Register(ctx, extensionName(), extension.Invoke, extension.Shutdown)
	var refused *extension.APIError
	if errors.As(err, &refused) && refused.ErrorType == "Extension.InvalidEventType" {
		log.Warn("the platform refused INVOKE events; registering for SHUTDOWN alone and refreshing in the background",
			"event", "register", "model", cfg.Model, "error", err.Error())
		_, err = ext.Register(ctx, extensionName(), extension.Shutdown)
		return false, err
	}
	return err == nil, err
}

// emitEvery writes the metrics once an interval until ctx ends: for a
// process that is never frozen, which may keep timers.
func emitEvery(ctx context.Context, emitter *metrics.Emitter, log *slog.Logger) {
	tick := time.NewTicker(emitter.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			emitMetrics(emitter.MaybeEmit, log)
		}
	}
}

func emitMetrics(emit func(time.Time) error, log *slog.Logger) {
	if err := emit(time.Now()); err != nil {
		log.Warn("writing metrics failed", "event", "metrics", "error", err.Error())
	}
}

func metricDimensions(cfg Config) map[string]string {
	name := cfg.FunctionName
	if name == "" {
		name = "local"
	}
	return map[string]string{"FunctionName": name}
}

// shutdownBefore stops the server and wipes the cache, finishing before
// deadline: Lambda kills an extension that overstays it.
func shutdownBefore(deadline time.Time, srv *http.Server, secrets *cache.Cache, log *slog.Logger) {
	// Keep a margin for the process to exit after the wipe.
	deadline = deadline.Add(-100 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// Halfway through, give up on upstream fetches so that requests waiting
	// on them answer and let Shutdown finish.
	abort := time.AfterFunc(time.Until(deadline)/2, secrets.Abort)
	defer abort.Stop()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	secrets.Close()
	log.Info("stopped", "event", "shutdown")
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

// newSources builds where values come from: the local file alone, or
// Secrets Manager and Parameter Store from one AWS configuration.
func newSources(ctx context.Context, cfg Config, recorder *metrics.Recorder) (cache.Source, cache.ParameterSource, error) {
	if cfg.File != "" {
		if _, err := os.Stat(cfg.File); err != nil {
			return nil, nil, fmt.Errorf("STARFLEET_SECRETS_FILE: %w", err)
		}
		return cache.NewFile(cfg.File, cfg.SecretID), nil, nil
	}
	awsConfig, err := cache.LoadAWSConfig(ctx, recorder.Request)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := cache.NewSecretsManager(awsConfig, cfg.Region)
	if err != nil {
		return nil, nil, err
	}
	if awsConfig.Region == "" {
		awsConfig.Region = cfg.Region
	}
	return secrets, cache.NewParameterStore(awsConfig), nil
}

func sourceName(cfg Config) string {
	if cfg.File != "" {
		return "file"
	}
	return "secretsmanager"
}

// extensionName is the name Lambda knows the extension by: the executable's
// base name, as the Extensions API requires.
func extensionName() string {
	return filepath.Base(os.Args[0])
}

func newLogger(cfg Config, out io.Writer) *slog.Logger {
	if cfg.LogOff {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
}
