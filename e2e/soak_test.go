package e2e

// The soak: 256 connections to the real binary (built without the race
// detector, as shipped) and 256 to an in-process server built from the same
// packages, for about a minute, while the secret rotates every 5 s with a
// TTL of 1 s. Not part of `make test`; run it with `make soak`
// (STARFLEET_SOAK=1; STARFLEET_SOAK_DURATION overrides the 60 s).
//
// It asserts: no answer other than 200; every body is exactly the slice (or
// key) of one version written, never a mix, and never older than one a
// connection already saw; the in-process server's goroutines return to
// their baseline once the clients are gone; the binary's RSS grows by less
// than 10 % from the end of the warm-up to the end.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server"
	"github.com/starfleet/starfleet-secrets/server/loopback"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const (
	soakConnections = 256
	soakRotateEvery = 5 * time.Second
	soakMaxRequests = 2_000_000 // per connection: the loops are bounded in count as well as time
)

// soakVersions records every version written, by the exact bytes each
// served path must answer.
type soakVersions struct {
	mu     sync.RWMutex
	byBody map[string]int // body -> version number
	n      int
}

func soakDoc(n int, salt string) (doc, slice, field string) {
	field = strconv.Quote(fmt.Sprintf("soak-a-%d-%s", n, salt))
	slice = fmt.Sprintf(`{"version":%d,"a":%s,"b":"soak-b-%d-%s","pad":"%s"}`, n, field, n, salt, strings.Repeat(strconv.Itoa(n%10), 512))
	return fmt.Sprintf(`{"Soak":%s,"Other":"other-%d"}`, slice, n), slice, field
}

func (v *soakVersions) add(n int, salt string) string {
	doc, slice, field := soakDoc(n, salt)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.byBody["S"+slice] = n
	v.byBody["F"+field] = n
	v.n = n
	return doc
}

func (v *soakVersions) lookup(kind, body string) (int, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n, ok := v.byBody[kind+body]
	return n, ok
}

type soakStats struct {
	requests, errors, mixed, regressions atomic.Int64
	mu                                   sync.Mutex
	statuses                             map[int]int64
	firstProblem                         string
	maxVersion                           atomic.Int64
}

func (s *soakStats) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstProblem == "" {
		s.firstProblem = fmt.Sprintf(format, args...)
	}
}

func (s *soakStats) report(t *testing.T, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%s: %d requests, statuses %v, transport errors %d, mixed bodies %d, version regressions %d, newest version seen %d",
		name, s.requests.Load(), s.statuses, s.errors.Load(), s.mixed.Load(), s.regressions.Load(), s.maxVersion.Load())
	non2xx := int64(0)
	for code, n := range s.statuses {
		if code != 200 {
			non2xx += n
		}
	}
	if non2xx > 0 || s.errors.Load() > 0 || s.mixed.Load() > 0 || s.regressions.Load() > 0 {
		t.Errorf("%s: %d non-2xx, %d errors, %d mixed, %d regressions; first: %s", name, non2xx, s.errors.Load(), s.mixed.Load(), s.regressions.Load(), s.firstProblem)
	}
	if s.requests.Load() < soakConnections {
		t.Errorf("%s: only %d requests", name, s.requests.Load())
	}
}

// soakLoad runs soakConnections clients against base until ctx ends.
func soakLoad(ctx context.Context, base, token string, versions *soakVersions, stats *soakStats) *http.Transport {
	transport := &http.Transport{MaxIdleConns: soakConnections, MaxIdleConnsPerHost: soakConnections, MaxConnsPerHost: soakConnections}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	stats.statuses = map[int]int64{}
	var wg sync.WaitGroup
	for i := range soakConnections {
		wg.Go(func() {
			last := -1
			for n := 0; n < soakMaxRequests && ctx.Err() == nil; n++ {
				path, kind := "/secret/Soak", "S"
				if (i+n)%2 == 1 {
					path, kind = "/secret/Soak/a", "F"
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
				req.Header.Set(server.TokenHeader, token)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						stats.errors.Add(1)
						stats.problem("transport error: %v", err)
					}
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					if ctx.Err() == nil {
						stats.errors.Add(1)
						stats.problem("reading body: %v", err)
					}
					return
				}
				stats.requests.Add(1)
				stats.mu.Lock()
				stats.statuses[resp.StatusCode]++
				stats.mu.Unlock()
				if resp.StatusCode != 200 {
					stats.problem("%s: %d %s", path, resp.StatusCode, body)
					continue
				}
				v, ok := versions.lookup(kind, string(body))
				if !ok {
					stats.mixed.Add(1)
					stats.problem("%s: body matches no version written: %.120s", path, body)
					continue
				}
				if v < last {
					stats.regressions.Add(1)
					stats.problem("%s: version %d after %d", path, v, last)
				}
				last = v
				for {
					m := stats.maxVersion.Load()
					if int64(v) <= m || stats.maxVersion.CompareAndSwap(m, int64(v)) {
						break
					}
				}
			}
		})
	}
	go func() { wg.Wait(); transport.CloseIdleConnections() }()
	return transport
}

// stableGoroutines waits (5 s at most) until the goroutine count holds
// still for 200 ms, and returns it.
func stableGoroutines(t testing.TB) int {
	n, checks := runtime.NumGoroutine(), 0
	poll(t, 5*time.Second, 200*time.Millisecond, func() bool {
		m := runtime.NumGoroutine()
		// The first check comes before any pause: it cannot tell.
		same := m == n && checks > 0
		n, checks = m, checks+1
		return same
	})
	return n
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func TestSoak(t *testing.T) {
	if os.Getenv("STARFLEET_SOAK") != "1" {
		t.Skip("the soak runs only with STARFLEET_SOAK=1 (make soak)")
	}
	duration := 60 * time.Second
	if v := os.Getenv("STARFLEET_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		duration = d
	}
	warmup := duration / 6

	// The shipped build: no race detector, so RSS means what it will in
	// Lambda.
	bin := goBuild(t, t.TempDir(), mainPackage, "starfleet-secrets", "-trimpath", "-tags", layerTags)

	salt := rand.Text()[:8]
	versions := &soakVersions{byBody: map[string]int{}}
	resetMoto(t, versions.add(0, salt))

	// The binary, under the fake platform, through a counting proxy.
	l := start(t, withBinary(bin), withEnv("STARFLEET_SECRETS_TTL=1s", "STARFLEET_SECRETS_LOG_LEVEL=info"))
	l.waitInit()

	// The same packages in process, reading moto through their own proxy.
	proxy := upstreamtest.NewProxy(e2e.moto.URL())
	defer proxy.Close()
	for _, kv := range upstreamtest.Env(proxy.URL()) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	awsConfig, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := upstream.NewClients(awsConfig, upstreamtest.Region, "soak")
	if err != nil {
		t.Fatal(err)
	}
	src := upstream.NewSecretsManager(clients)
	secrets := cache.New(cache.Options{Source: src, Secrets: cache.Rules{Policy: cache.NewPolicy(cache.Limits{TTL: time.Second, MaxStale: 15 * time.Minute, FetchTimeout: 5 * time.Second}, false), FetchTimeout: 5 * time.Second}, Primary: item.SecretKey{ID: "Starfleet"}, Size: 10})
	const token = "soak-token"
	ln, err := loopback.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(server.New(server.Options{Store: secrets, Token: token}), 5*time.Second, slog.New(slog.DiscardHandler))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(loopback.LimitListener(ln, 0, nil)) }()
	inBase := "http://" + ln.Addr().String()
	warm, err := http.NewRequest("GET", inBase+"/secret/Soak", nil)
	if err != nil {
		t.Fatal(err)
	}
	warm.Header.Set(server.TokenHeader, token)
	warmClient := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := warmClient.Do(warm); err != nil || resp.StatusCode != 200 {
		t.Fatalf("in-process server not serving: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	baseline := stableGoroutines(t)
	rssStart, _ := vmRSS(l.cmd.Process.Pid)

	ctx, cancel := context.WithTimeout(t.Context(), duration)
	defer cancel()
	var bg sync.WaitGroup
	// Rotation every 5 s.
	bg.Go(func() {
		tick := time.NewTicker(soakRotateEvery)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, err := upstreamtest.Client(e2e.moto.URL()).PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
				SecretId: aws.String("Starfleet"), SecretString: aws.String(versions.add(n, salt)),
			})
			if err != nil {
				t.Errorf("rotation %d: %v", n, err)
				return
			}
		}
	})
	// RSS and goroutine samples, once a second.
	var rssWarm, rssPeak, rssEnd int64
	peakGoroutines := 0
	bg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rss, err := vmRSS(l.cmd.Process.Pid)
			if err != nil {
				continue
			}
			if rssWarm == 0 && time.Since(start) >= warmup {
				rssWarm = rss
			}
			rssPeak, rssEnd = max(rssPeak, rss), rss
			peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
		}
	})
	started := time.Now()
	binStats, inStats := &soakStats{}, &soakStats{}
	l.proxy.ResetCounts()
	binTransport := soakLoad(ctx, l.base, l.token, versions, binStats)
	inTransport := soakLoad(ctx, inBase, token, versions, inStats)
	<-ctx.Done()
	bg.Wait()
	elapsed := time.Since(started)
	binTransport.CloseIdleConnections()
	inTransport.CloseIdleConnections()

	binStats.report(t, "binary")
	inStats.report(t, "in-process")
	t.Logf("%v, %d versions written; upstream GetSecretValue calls: binary %d, in-process %d (TTL 1 s: about one a second each)",
		elapsed.Round(time.Second), versions.n+1, l.proxy.Count("GetSecretValue"), proxy.Count("GetSecretValue"))

	// Goroutines: back to the baseline once the clients are gone.
	var after int
	back := poll(t, 15*time.Second, 20*time.Millisecond, func() bool {
		binTransport.CloseIdleConnections()
		inTransport.CloseIdleConnections()
		after = runtime.NumGoroutine()
		return after <= baseline+2
	})
	t.Logf("in-process goroutines: baseline %d, peak %d, after %d", baseline, peakGoroutines, after)
	if !back {
		t.Errorf("goroutines did not return to the baseline: %d after, %d before", after, baseline)
	}

	// RSS of the binary.
	growth := float64(rssEnd-rssWarm) / float64(rssWarm) * 100
	t.Logf("binary RSS: %d KiB at start, %d KiB after the %v warm-up, peak %d KiB, %d KiB at the end (%+.1f %%)",
		rssStart, rssWarm, warmup, rssPeak, rssEnd, growth)
	if rssWarm == 0 || growth >= 10 {
		t.Errorf("RSS grew %.1f %% after the warm-up (%d -> %d KiB), want under 10 %%", growth, rssWarm, rssEnd)
	}
	if versions.n < int(duration/soakRotateEvery)-1 {
		t.Errorf("only %d rotations", versions.n)
	}
	if binStats.maxVersion.Load() < int64(versions.n-1) || inStats.maxVersion.Load() < int64(versions.n-1) {
		t.Errorf("rotations not seen: newest served %d / %d of %d", binStats.maxVersion.Load(), inStats.maxVersion.Load(), versions.n)
	}

	srv.Shutdown(context.Background())
	<-served
	secrets.Close()
	if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
		t.Errorf("binary shutdown: %+v", res)
	}
}
