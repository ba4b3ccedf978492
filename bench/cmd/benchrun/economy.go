package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
	"github.com/starfleet/starfleet-secrets/bench/internal/report"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const opGetSecret = "GetSecretValue"

func runEconomy(ctx context.Context, c report.Config, env *emulator, r *report.Report) error {
	// In the cache package, with a fake clock: an hour at TTL 60 s, and 500
	// concurrent reads at expiry.
	out, err := runTests(ctx, c, r, "./cache", "^(TestUpstreamCallsInSimulatedHour|TestUpstreamCallsFor500ConcurrentAtExpiry|TestManagedInstancesEconomyInSimulatedHour)$")
	os.WriteFile(filepath.Join(c.RawDir, "economy-test.txt"), out, 0o644)
	if err != nil {
		return err
	}
	figs := report.ParseFigures(string(out))
	if v, ok := figs["upstream_calls_hour"]; ok {
		r.HourCalls, r.HourRequests = &v, figs["requests_hour"]
	}
	if v, ok := figs["upstream_calls_500_at_expiry"]; ok {
		r.InProcessExpiryCalls = &v
	}
	if v, ok := figs["mi_calls_hour_shared"]; ok {
		r.MIShared, r.MIInProcess, r.MIReads = &v, figs["mi_calls_hour_in_process"], figs["mi_reads_hour"]
	}

	// Against the binary, through a counting proxy in front of moto.
	p, proxy, err := startBehindProxy(ctx, c, env, report.ExpiryTTL.String())
	if err != nil {
		return err
	}
	defer proxy.Close()
	r.Command(fmt.Sprintf("STARFLEET_SECRETS_TTL=%s STARFLEET_SECRETS_PORT=%d AWS_ENDPOINT_URL_SECRETS_MANAGER=<upstreamtest.Proxy> %s  # under extensiontest; %d concurrent GET /secret/%s at expiry, x%d",
		report.ExpiryTTL, p.Port, c.Bin, report.ExpiryReaders, c.Slice, c.ExpiryRounds))
	ok := false
	defer func() {
		if !ok {
			p.Kill()
		}
	}()
	for range c.ExpiryRounds {
		// The last fetch finished before its answers came back, so once the
		// TTL has passed from here the entry has expired. This waits for
		// wall-clock time to pass, not for another goroutine.
		select {
		case <-time.After(report.ExpiryTTL + 50*time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		round, err := burstAtExpiry(ctx, p, proxy, c.Slice)
		if err != nil {
			return err
		}
		r.ExpiryRounds = append(r.ExpiryRounds, round)
		logf("economy: %d concurrent reads at expiry: %d upstream call(s), statuses %v, %d answered before release",
			report.ExpiryReaders, round.UpstreamCalls, round.Statuses, round.AnsweredEarly)
	}
	ok = true
	return p.Stop(ctx)
}

// burstAtExpiry holds the upstream call at the proxy until all readers have
// sent their requests and the extension has read them all off their sockets,
// then releases it and counts the upstream calls.
// waitBurstSettled polls, bounded by ctx, until every request was written,
// one upstream call is held, and no connection has unread bytes on the
// extension's side (one still in the accept queue counts as established
// with unread bytes); it returns the established connections.
func waitBurstSettled(ctx context.Context, p *proc.Ext, proxy *upstreamtest.Proxy, written *atomic.Int64) (int, error) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		established, unread, err := proc.ServerSockets(p.Port)
		if err != nil {
			return 0, err
		}
		if written.Load() == report.ExpiryReaders && proxy.Held(opGetSecret) >= 1 && unread == 0 {
			return established, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0, fmt.Errorf("burst never settled: written %d, held %d, sockets %d (%d unread): %w",
				written.Load(), proxy.Held(opGetSecret), established, unread, ctx.Err())
		}
	}
}

func burstAtExpiry(ctx context.Context, p *proc.Ext, proxy *upstreamtest.Proxy, slice string) (report.ExpiryRound, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	proxy.ResetCounts()
	proxy.Hold(opGetSecret)
	defer proxy.Release(opGetSecret)

	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	url := "http://" + p.Addr() + "/secret/" + slice
	var written, early atomic.Int64
	var released atomic.Bool
	var mu sync.Mutex
	round := report.ExpiryRound{Statuses: map[int]int{}}
	var wg sync.WaitGroup
	begin := time.Now()
	for range report.ExpiryReaders {
		wg.Go(func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written.Add(1) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
			req.Header.Set(tokenHeader, report.Token)
			resp, err := client.Do(req)
			if !released.Load() {
				early.Add(1)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				round.Errors++
				return
			}
			resp.Body.Close()
			round.Statuses[resp.StatusCode]++
		})
	}

	established, err := waitBurstSettled(ctx, p, proxy, &written)
	if err != nil {
		return round, err
	}
	round.Sockets = established
	released.Store(true)
	proxy.Release(opGetSecret)
	wg.Wait()
	round.Elapsed = time.Since(begin)
	round.AnsweredEarly = int(early.Load())
	round.UpstreamCalls = proxy.Count(opGetSecret)
	return round, nil
}
