package e2e

// End-to-end tests of the freshness policy: rotation, outages, bounded
// staleness, permanent failures and forced refreshes, with faults injected
// by a proxy between the real binary and moto.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const staleWarning = `110 - "Response is Stale"`

// attemptsPerFetch is how many HTTP calls one fetch may make: the
// extension's own retries (the SDK's retryer is switched off).
const attemptsPerFetch = upstream.MaxAttempts

// maxFetchesWithin is the most fetches the backoff schedule allows in d,
// counting the first failed one: every wait at its shortest (no jitter).
func maxFetchesWithin(p cache.Policy, d time.Duration) int {
	n, elapsed := 1, time.Duration(0)
	for {
		elapsed += p.Backoff(n, 0)
		if elapsed > d {
			return n
		}
		n++
	}
}

// load sends requests at a steady rate until ctx ends and returns every
// answer; failures to connect are answers too, with status 0.
func load(ctx context.Context, l *instance, perSecond int, path string, header ...string) []answer {
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return answers
		case <-tick.C:
			wg.Go(func() {
				reqCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a, err := l.try(reqCtx, "GET", path, header...)
				if err != nil {
					a = answer{body: err.Error()}
				}
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			})
		}
	}
}

func TestOutageIsServedStaleWithinTheBackoffSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s outage; run without -short")
	}
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s", "STARFLEET_SECRETS_FETCH_TIMEOUT=2s"))
	l.waitInit()
	oldValue := rawSlice(t, starfleetSecret, "STARFLEET")
	rotated := strings.Replace(starfleetSecret, "xoxb-e2e-slack-Q7d9Lm2v", "xoxb-e2e-slack-AFTEROUTAGE", 1)
	newValue := rawSlice(t, rotated, "STARFLEET")

	// 30 s of outage, 10 s each of throttling, 500s and reset connections,
	// at 50 requests a second. The secret rotates meanwhile, unseen.
	const outage = 30 * time.Second
	l.proxy.ResetCounts()
	putSecret(t, rotated)
	var answers []answer
	for _, fault := range []upstreamtest.Fault{upstreamtest.Throttle, upstreamtest.InternalError, upstreamtest.Reset} {
		l.proxy.SetFault("GetSecretValue", fault)
		ctx, cancel := context.WithTimeout(t.Context(), outage/3)
		answers = append(answers, load(ctx, l, 50, "/secret/STARFLEET")...)
		cancel()
	}
	calls := l.upstreamCalls()

	if len(answers) < 1000 {
		t.Errorf("only %d requests were sent in %v", len(answers), outage)
	}
	stale := 0
	for i, a := range answers {
		if a.status != 200 || a.body != oldValue {
			t.Fatalf("answer %d during the outage: %d %q, want 200 and the last value", i, a.status, a.body)
		}
		if a.header.Get("Warning") == staleWarning {
			stale++
		} else if age, _ := strconv.Atoi(a.header.Get("Age")); age >= 2 {
			t.Fatalf("answer %d is %d s old without a Warning", i, age)
		}
	}
	if stale < len(answers)*9/10 {
		t.Errorf("%d of %d answers carried the stale Warning", stale, len(answers))
	}
	const fetchTimeout = 2 * time.Second
	policy := cache.NewPolicy(cache.Limits{TTL: time.Second, MaxStale: 15 * time.Minute, FetchTimeout: fetchTimeout}, false)
	most := maxFetchesWithin(policy, outage+time.Second) * attemptsPerFetch
	t.Logf("outage: %d requests, %d stale, %d upstream calls (schedule allows at most %d)", len(answers), stale, calls, most)
	if calls > most {
		t.Errorf("%d upstream calls during the outage; the backoff schedule allows %d", calls, most)
	}
	if calls < 5 {
		t.Errorf("%d upstream calls: the extension stopped retrying", calls)
	}

	// Recovery: fresh data within one backoff step (at most BackoffMax)
	// plus a fetch.
	l.proxy.ClearFaults()
	recovered := time.Now()
	limit := policy.BackoffMax + fetchTimeout + 2*time.Second
	var a answer
	if !poll(t, limit, 20*time.Millisecond, func() bool {
		a = l.get("GET", "/secret/STARFLEET")
		return a.status == 200 && a.body == newValue && a.header.Get("Warning") == ""
	}) {
		t.Fatalf("no fresh data %v after recovery: %d %s %q", limit, a.status, a.body, a.header.Get("Warning"))
	}
	t.Logf("fresh data %v after recovery", time.Since(recovered).Round(time.Millisecond))
}

func TestServingStopsAfterMaxStale(t *testing.T) {
	resetMoto(t, starfleetSecret)
	started := time.Now()
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s", "STARFLEET_SECRETS_MAX_STALE=2s", "STARFLEET_SECRETS_FETCH_TIMEOUT=1s"))
	l.waitInit()
	l.proxy.SetFault("GetSecretValue", upstreamtest.Throttle)
	sawStale := false
	var a answer
	if !poll(t, 30*time.Second-time.Since(started), 50*time.Millisecond, func() bool {
		a = l.get("GET", "/secret/STARFLEET")
		sawStale = sawStale || a.status == 200 && a.header.Get("Warning") == staleWarning
		return a.status != 200
	}) {
		t.Fatal("still serving 30 s after max-stale")
	}
	if a.status != 502 || !strings.Contains(a.body, `"error":"ThrottlingException"`) {
		t.Fatalf("after max-stale: %d %s, want 502 ThrottlingException", a.status, a.body)
	}
	if since := time.Since(started); since < 3*time.Second {
		t.Errorf("the value stopped being served after %v, before TTL+max-stale (3 s)", since)
	}
	if !sawStale {
		t.Error("no stale answer was served before max-stale ran out")
	}
	// And it stays an error while the outage lasts.
	if a := l.get("GET", "/secret/STARFLEET"); a.status != 502 {
		t.Errorf("served again during the outage: %d", a.status)
	}
}

func TestPermanentErrorsStopServingAtOnce(t *testing.T) {
	for _, tt := range []struct {
		fault upstreamtest.Fault
		code  string
	}{
		{upstreamtest.AccessDenied, "AccessDeniedException"},
		{upstreamtest.NotFound, "ResourceNotFoundException"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			resetMoto(t, starfleetSecret)
			l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s"))
			l.waitInit()
			l.proxy.SetFault("GetSecretValue", tt.fault)
			// Until the refused fetch returns, the value may still be served
			// (fresh, or stale while a slow refresh is in flight, by the
			// refresh-wait rule). The first refusal ends it: nothing is
			// served after it. (That a refusal is not retried within a
			// fetch is pinned in upstream/secretsmanager_test.go.)
			a := pollAnswer(t, l, 15*time.Second, "/secret/STARFLEET", func(a answer) bool { return a.status != 200 })
			if a.status != 502 || !strings.Contains(a.body, `"error":"`+tt.code+`"`) {
				t.Fatalf("%d %s, want 502 %s", a.status, a.body, tt.code)
			}
			for range 5 {
				if a := l.get("GET", "/secret/STARFLEET"); a.status != 502 {
					t.Fatalf("served again after %s: %d %q", tt.code, a.status, a.header.Get("Warning"))
				}
			}
		})
	}
}

func TestForcedRefreshIsRateLimited(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t)
	l.waitInit()
	rotated := strings.Replace(starfleetSecret, "xoxb-e2e-slack-Q7d9Lm2v", "xoxb-e2e-slack-FORCED", 1)
	putSecret(t, rotated)
	l.proxy.ResetCounts()

	// Waves of 200 concurrent forced refreshes for 3 s.
	start := time.Now()
	seenNew := false
	for time.Since(start) < 3*time.Second {
		var wg sync.WaitGroup
		results := make(chan answer, 200)
		for range 200 {
			wg.Go(func() {
				a, err := l.try(t.Context(), "GET", "/secret/STARFLEET", "Cache-Control", "no-cache")
				if err != nil {
					a = answer{body: err.Error()}
				}
				results <- a
			})
		}
		wg.Wait()
		close(results)
		for a := range results {
			if a.status != 200 {
				t.Fatalf("forced refresh answered %d %s", a.status, a.body)
			}
			seenNew = seenNew || strings.Contains(a.body, "FORCED")
		}
	}
	elapsed := time.Since(start)
	calls := l.upstreamCalls()
	most := int(elapsed/time.Second) + 1
	t.Logf("%v of forced refreshes: %d upstream calls (at most %d)", elapsed.Round(time.Millisecond), calls, most)
	if calls > most {
		t.Errorf("%d upstream calls in %v: more than one a second", calls, elapsed)
	}
	if !seenNew {
		t.Error("no forced refresh saw the rotated value")
	}
}

func TestRotationByMovingAWSCURRENT(t *testing.T) {
	created := resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=2s"))
	l.waitInit()
	rotated := strings.Replace(starfleetSecret, "xoxb-e2e-slack-Q7d9Lm2v", "xoxb-e2e-slack-STAGED", 1)
	sm := upstreamtest.Client(e2e.moto.URL())
	pending, err := sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("Starfleet"), SecretString: aws.String(rotated), VersionStages: []string{"AWSPENDING"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := l.get("GET", "/secret/STARFLEET"); strings.Contains(a.body, "STAGED") {
		t.Fatal("a pending version was served as current")
	}
	_, err = sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String("Starfleet"), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: pending.VersionId, RemoveFromVersionId: created.VersionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	if !poll(t, 2*time.Second+10*time.Second, 100*time.Millisecond, func() bool {
		l.invoke()
		return strings.Contains(l.get("GET", "/secret/STARFLEET").body, "STAGED")
	}) {
		t.Fatal("the moved AWSCURRENT stage was not seen within the TTL")
	}
	t.Logf("rotation seen %v after the stage moved", time.Since(moved).Round(time.Millisecond))
}

func TestVersionStageSetting(t *testing.T) {
	resetMoto(t, starfleetSecret)
	pendingValue := `{"STARFLEET":{"SlackToken":"xoxb-pending"}}`
	_, err := upstreamtest.Client(e2e.moto.URL()).PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("Starfleet"), SecretString: aws.String(pendingValue), VersionStages: []string{"AWSPENDING"},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := start(t, withEnv("STARFLEET_SECRETS_VERSION_STAGE=AWSPENDING"))
	l.waitInit()
	if a := l.get("GET", "/secret/STARFLEET/SlackToken"); a.status != 200 || a.body != `"xoxb-pending"` {
		t.Errorf("AWSPENDING: %d %s", a.status, a.body)
	}
}

func TestETagFollowsTheValue(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s"))
	l.waitInit()
	first := l.get("GET", "/secret/STARFLEET")
	etag := first.header.Get("ETag")
	if a := l.get("GET", "/secret/STARFLEET", "If-None-Match", etag); a.status != http.StatusNotModified || a.body != "" {
		t.Fatalf("If-None-Match with the current ETag: %d %q", a.status, a.body)
	}
	// Another slice changing leaves... a new version all the same: the
	// ETag must change whenever the served value may have.
	putSecret(t, strings.Replace(starfleetSecret, "Q7d9Lm2v", "NEWETAG1", 1))
	var a answer
	if !poll(t, 15*time.Second, 100*time.Millisecond, func() bool {
		a = l.get("GET", "/secret/STARFLEET", "If-None-Match", etag)
		return a.status == 200
	}) {
		t.Fatalf("still 304 after rotation: %d", a.status)
	}
	if a.header.Get("ETag") == etag || !strings.Contains(a.body, "NEWETAG1") {
		t.Fatalf("new value %s with ETag %s (old %s)", a.body, a.header.Get("ETag"), etag)
	}
}
