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

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const (
	expiryReaders = 500
	expiryTTL     = time.Second
	opGetSecret   = "GetSecretValue"
)

// expiryRound is one burst of concurrent reads at expiry against the binary.
type expiryRound struct {
	upstreamCalls int
	statuses      map[int]int
	errors        int
	answeredEarly int // answers before the held upstream call was released
	sockets       int // server-side connections seen open when released
	elapsed       time.Duration
}

func runEconomy(ctx context.Context, c config, env *emulator, r *report) error {
	// In the cache package, with a fake clock: an hour at TTL 60 s, and 500
	// concurrent reads at expiry.
	out, err := runTests(ctx, c, r, "./cache", "^(TestUpstreamCallsInSimulatedHour|TestUpstreamCallsFor500ConcurrentAtExpiry|TestManagedInstancesEconomyInSimulatedHour)$")
	os.WriteFile(filepath.Join(c.rawDir, "economy-test.txt"), out, 0o644)
	if err != nil {
		return err
	}
	figs := parseFigures(string(out))
	if v, ok := figs["upstream_calls_hour"]; ok {
		r.hourCalls, r.hourRequests = &v, figs["requests_hour"]
	}
	if v, ok := figs["upstream_calls_500_at_expiry"]; ok {
		r.inProcessExpiryCalls = &v
	}
	if v, ok := figs["mi_calls_hour_shared"]; ok {
		r.miShared, r.miInProcess, r.miReads = &v, figs["mi_calls_hour_in_process"], figs["mi_reads_hour"]
	}

	// Against the binary, through a counting proxy in front of moto.
	p, proxy, err := startBehindProxy(ctx, c, env, expiryTTL.String())
	if err != nil {
		return err
	}
	defer proxy.Close()
	r.command(fmt.Sprintf("STARFLEET_SECRETS_TTL=%s STARFLEET_SECRETS_PORT=%d AWS_ENDPOINT_URL_SECRETS_MANAGER=<upstreamtest.Proxy> %s  # under extensiontest; %d concurrent GET /secret/%s at expiry, x%d",
		expiryTTL, p.port, c.bin, expiryReaders, c.slice, c.expiryRounds))
	ok := false
	defer func() {
		if !ok {
			p.kill()
		}
	}()
	for range c.expiryRounds {
		// The last fetch finished before its answers came back, so once the
		// TTL has passed from here the entry has expired. This waits for
		// wall-clock time to pass, not for another goroutine.
		select {
		case <-time.After(expiryTTL + 50*time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		round, err := burstAtExpiry(ctx, p, proxy, c.slice)
		if err != nil {
			return err
		}
		r.expiryRounds = append(r.expiryRounds, round)
		logf("economy: %d concurrent reads at expiry: %d upstream call(s), statuses %v, %d answered before release",
			expiryReaders, round.upstreamCalls, round.statuses, round.answeredEarly)
	}
	ok = true
	return p.stop(ctx)
}

// burstAtExpiry holds the upstream call at the proxy until all readers have
// sent their requests and the extension has read them all off their sockets,
// then releases it and counts the upstream calls.
// waitBurstSettled polls, bounded by ctx, until every request was written,
// one upstream call is held, and no connection has unread bytes on the
// extension's side (one still in the accept queue counts as established
// with unread bytes); it returns the established connections.
func waitBurstSettled(ctx context.Context, p *extProc, proxy *upstreamtest.Proxy, written *atomic.Int64) (int, error) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		established, unread, err := serverSockets(p.port)
		if err != nil {
			return 0, err
		}
		if written.Load() == expiryReaders && proxy.Held(opGetSecret) >= 1 && unread == 0 {
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

func burstAtExpiry(ctx context.Context, p *extProc, proxy *upstreamtest.Proxy, slice string) (expiryRound, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	proxy.ResetCounts()
	proxy.Hold(opGetSecret)
	defer proxy.Release(opGetSecret)

	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	url := "http://" + p.addr() + "/secret/" + slice
	var written, early atomic.Int64
	var released atomic.Bool
	var mu sync.Mutex
	round := expiryRound{statuses: map[int]int{}}
	var wg sync.WaitGroup
	begin := time.Now()
	for range expiryReaders {
		wg.Go(func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written.Add(1) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
			req.Header.Set(tokenHeader, benchToken)
			resp, err := client.Do(req)
			if !released.Load() {
				early.Add(1)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				round.errors++
				return
			}
			resp.Body.Close()
			round.statuses[resp.StatusCode]++
		})
	}

	established, err := waitBurstSettled(ctx, p, proxy, &written)
	if err != nil {
		return round, err
	}
	round.sockets = established
	released.Store(true)
	proxy.Release(opGetSecret)
	wg.Wait()
	round.elapsed = time.Since(begin)
	round.answeredEarly = int(early.Load())
	round.upstreamCalls = proxy.Count(opGetSecret)
	return round, nil
}
