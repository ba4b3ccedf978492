package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/migrate"
	"github.com/starfleet/starfleet-secrets/server"
	"github.com/starfleet/starfleet-secrets/server/loopback"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// sidecar is the extension at work, built from the configuration: the
// cache, the HTTP API over it, and the metrics of both.
type sidecar struct {
	cfg     Config
	log     *slog.Logger
	cache   *cache.Cache
	srv     *http.Server
	emitter *metrics.Emitter
	served  chan error
}

// newSidecar builds the sidecar. refreshAhead: nothing freezes the
// process, so values are refreshed ahead of expiry and no reader waits on a
// refresh.
func newSidecar(ctx context.Context, cfg Config, lookup LookupFunc, log *slog.Logger, metricsOut io.Writer, refreshAhead bool) (*sidecar, error) {
	log.Info("configured", "event", "config", "secret_id", cfg.Secret.ID, "secret_id_from", cfg.Secret.IDFrom,
		"region", cfg.Secret.Region, "region_from", cfg.Secret.RegionFrom)
	recorder := metrics.New()
	secrets, params, clients, err := newSources(ctx, cfg, lookup, log, recorder)
	if err != nil {
		return nil, err
	}
	slices, err := discoverSlices(ctx, cfg, clients, log)
	if err != nil {
		return nil, err
	}
	c := cache.New(cache.Options{
		Source:          secrets,
		Secrets:         cfg.Cache.rules(cfg.Cache.Secrets, refreshAhead),
		Primary:         item.SecretKey{ID: cfg.Secret.ID, VersionStage: cfg.Secret.VersionStage},
		Size:            cfg.Cache.Size,
		Logger:          log,
		Metrics:         recorder,
		ParameterSource: params,
		Parameters:      cfg.Cache.rules(cfg.Cache.Parameters, refreshAhead),
		// Wiped no sooner than the slowest answer that may still be
		// writing it, the loopback listener's second of lateness and more.
		RetireAfter: server.LongestAnswer(cfg.Cache.Secrets.FetchTimeout) + 5*time.Second,
		SlicePrefix: cfg.Layout.SlicePrefix,
		Slices:      slices,
	})
	opts := server.Options{Store: c, Token: cfg.Server.Token, Allow: cfg.Server.Allow, Roles: cfg.Server.Roles, Logger: log,
		Metrics: recorder, Settings: settingNames, ForwardTimeout: cfg.Cache.Secrets.FetchTimeout}
	if clients != nil {
		opts.AWS = clients
	}
	api := server.New(opts)
	return &sidecar{
		cfg:     cfg,
		log:     log,
		cache:   c,
		srv:     server.NewHTTPServer(api, cfg.Cache.Secrets.FetchTimeout, log),
		emitter: newEmitter(cfg, recorder, metricsOut),
		served:  make(chan error, 1),
	}, nil
}

// discoverSlices is the split layout's slices: as configured, or, where
// neither the allow-list nor STARFLEET_SECRETS_SLICES names them, every
// secret named the prefix and more, listed once at start within the fetch
// timeout.
func discoverSlices(ctx context.Context, cfg Config, clients *upstream.Clients, log *slog.Logger) ([]string, error) {
	slices := cfg.layoutSlices()
	if cfg.Layout.SlicePrefix == "" || len(slices) > 0 || clients == nil {
		return slices, nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Cache.Secrets.FetchTimeout)
	defer cancel()
	slices, err := migrate.Discover(ctx, migrate.NewService(clients, clients.HomeRegion(item.ServiceSecretsManager)), cfg.Layout.SlicePrefix)
	if err == nil && len(slices) == 0 {
		err = fmt.Errorf("no secret is named %s<slice>", cfg.Layout.SlicePrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("discovering the split layout's slices (%s, or name them in %s or %s): %w", envSlicePrefix, envAllow, envSlices, err)
	}
	log.Info("slices discovered", "event", "config", "slice_prefix", cfg.Layout.SlicePrefix, "slices", len(slices))
	return slices, nil
}

// newSources builds where values come from: the local file alone, or
// Secrets Manager and Parameter Store from one AWS configuration, whose
// clients also serve the SDK's protocol.
func newSources(ctx context.Context, cfg Config, lookup LookupFunc, log *slog.Logger, recorder *metrics.Recorder) (cache.Source, cache.ParameterSource, *upstream.Clients, error) {
	if cfg.Secret.File != "" {
		if _, err := os.Stat(cfg.Secret.File); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", envFile, err)
		}
		return upstream.NewFile(cfg.Secret.File, cfg.Secret.ID), nil, nil, nil
	}
	aws, err := awsconfig.LoadAWS(ctx, lookup, recorder.Request)
	if err != nil {
		return nil, nil, nil, err
	}
	aws.UserAgent = userAgent(version)
	for _, name := range aws.IgnoreEndpointsAt(cfg.Server.Port) {
		// The function's own settings, made so that its SDK reads through
		// this extension: followed here, they would make it its own
		// upstream.
		log.Info("endpoint variable (or its shared config equivalent) ignored: it points at this extension", "event", "config", "variable", name)
	}
	clients, err := upstream.NewClients(aws, cfg.Secret.Region, cfg.Lambda.FunctionName)
	if errors.Is(err, upstream.ErrNoRegion) {
		return nil, nil, nil, fmt.Errorf("%w: set %s or AWS_REGION", err, envSecretRegion)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return upstream.NewSecretsManager(clients), upstream.NewParameterStore(clients), clients, nil
}

func newEmitter(cfg Config, recorder *metrics.Recorder, out io.Writer) *metrics.Emitter {
	name := cfg.Lambda.FunctionName
	if name == "" {
		name = "local"
	}
	if !cfg.Metrics.Enabled {
		out = io.Discard
	}
	return &metrics.Emitter{
		Recorder: recorder,
		Format:   metrics.EMF{Namespace: cfg.Metrics.Namespace, Dimensions: map[string]string{"FunctionName": name}},
		Out:      out,
		Interval: time.Minute,
	}
}

// serve answers the HTTP API on ln, behind the connection cap.
// lifetime serves on ln until the platform (ext, nil outside Lambda) or a
// signal ends it, refreshing ahead of expiry where nothing freezes the
// process, then shuts down, and returns the exit code.
func (s *sidecar) lifetime(ctx context.Context, ext *extension.Client, ln net.Listener, frozen bool) int {
	s.serve(ln)
	prefetched := s.prefetch(ctx)
	if !frozen {
		background, stopBackground := context.WithCancel(ctx)
		defer stopBackground()
		s.refreshAhead(background)
	}
	var deadline time.Time
	exitCode := 0
	if ext != nil {
		deadline, exitCode = s.eventLoop(ctx, ext, prefetched)
	} else {
		deadline, exitCode = s.waitLocal(ctx)
	}
	s.shutdown(deadline)
	return exitCode
}

func (s *sidecar) serve(ln net.Listener) {
	go func() { s.served <- s.srv.Serve(loopback.LimitListener(ln, s.cfg.Server.MaxConnections, s.log)) }()
	source := "secretsmanager"
	if s.cfg.Secret.File != "" {
		source = "file"
	}
	s.log.Info("serving", "event", "listen", "addr", ln.Addr().String(), "lambda", s.cfg.InLambda(), "source", source)
}

// prefetch warms the Starfleet secret and the configured extras while the
// runtime initialises, and closes the channel it returns once every fetch
// has settled. Requests that arrive first join these fetches instead of
// failing.
func (s *sidecar) prefetch(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if s.cfg.InLambda() && !s.cfg.Lambda.Model.PrefetchesDuringInit() {
		close(done)
		s.log.Info("no prefetch under SnapStart: what INIT fetches is stored in the snapshot; the first INVOKE fetches", "event", "prefetch")
		return done
	}
	go func() {
		defer close(done)
		start := time.Now()
		var wg sync.WaitGroup
		if extras := s.cfg.Prefetch; len(extras) > 0 {
			wg.Go(func() {
				if err := s.cache.Prefetch(ctx, extras); err != nil {
					s.log.Warn("prefetch of extras incomplete; requests will fetch what is missing", "event", "prefetch",
						"error", err.Error(), "duration_ms", time.Since(start).Milliseconds())
				}
			})
		}
		err := s.cache.Prefetch(ctx, s.cache.InitKeys())
		wg.Wait()
		if err != nil {
			s.log.Warn("prefetch failed; requests will retry", "event", "prefetch", "error", err.Error(),
				"duration_ms", time.Since(start).Milliseconds())
			return
		}
		s.log.Info("prefetched", "event", "prefetch", "extras", len(s.cfg.Prefetch), "duration_ms", time.Since(start).Milliseconds())
	}()
	return done
}

// refreshAhead keeps values fresh and writes metrics on timers until ctx
// ends: for a process that is never frozen, which may keep timers.
func (s *sidecar) refreshAhead(ctx context.Context) {
	go s.cache.RefreshAhead(ctx)
	go func() {
		tick := time.NewTicker(s.emitter.Interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.emitMetrics(s.emitter.MaybeEmit)
			}
		}
	}()
}

// eventLoop serves Lambda's events until SHUTDOWN, and returns the deadline
// to stop by and the exit code. It asks for the first event only once the
// prefetch has settled, so that a pre-warmed environment is frozen with the
// secret in memory.
func (s *sidecar) eventLoop(ctx context.Context, ext *extension.Client, prefetched <-chan struct{}) (time.Time, int) {
	select {
	case <-prefetched:
	case <-ctx.Done():
	}
	shutdown, err := ext.Loop(ctx, func(context.Context, extension.Event) {
		for _, key := range s.cache.InitKeys() {
			s.cache.RefreshIfExpired(key)
		}
		s.emitMetrics(s.emitter.MaybeEmit)
	})
	switch {
	case err == nil:
		s.log.Info("shutdown requested", "event", "shutdown", "reason", shutdown.ShutdownReason)
		return shutdown.Deadline(), 0
	case ctx.Err() != nil:
		return time.Now().Add(localShutdownBudget), 0
	}
	s.log.Error("event loop failed", "event", "next", "error", err.Error())
	reportCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ext.ExitError(reportCtx, errEventLoop, err)
	return time.Now().Add(time.Second), 1
}

// waitLocal serves until a signal or a server failure, outside Lambda.
func (s *sidecar) waitLocal(ctx context.Context) (time.Time, int) {
	exitCode := 0
	select {
	case <-ctx.Done():
	case err := <-s.served:
		s.log.Error("server stopped", "event", "serve", "error", err.Error())
		exitCode = 1
	}
	return time.Now().Add(localShutdownBudget), exitCode
}

// shutdown stops the server, wipes the cache and writes the last metrics,
// finishing before deadline: Lambda kills an extension that overstays it.
func (s *sidecar) shutdown(deadline time.Time) {
	// Keep a margin for the process to exit after the wipe.
	deadline = deadline.Add(-100 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// Halfway through, give up on upstream fetches so that requests waiting
	// on them answer and let Shutdown finish.
	abort := time.AfterFunc(time.Until(deadline)/2, s.cache.Abort)
	defer abort.Stop()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	s.cache.Close()
	s.log.Info("stopped", "event", "shutdown")
	s.emitMetrics(s.emitter.Emit)
}

func (s *sidecar) emitMetrics(emit func(time.Time) error) {
	if err := emit(time.Now()); err != nil {
		s.log.Warn("writing metrics failed", "event", "metrics", "error", err.Error())
	}
}
