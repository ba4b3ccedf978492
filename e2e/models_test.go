package e2e

// Every Lambda execution model under the fake platform, which covers what
// the emulator cannot: Managed Instances with many readers and a slow
// Secrets Manager, a platform that refuses INVOKE, SnapStart's container
// credentials, provisioned concurrency's long wait before the first INVOKE.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// versionedSecret is the Starfleet secret at version n: its STARFLEET slice
// names n, so an answer says which version it came from.
func versionedSecret(n int) (doc, slice string) {
	slice = fmt.Sprintf(`{"SlackToken":"xoxb-model-v%03d-Ks20"}`, n)
	return fmt.Sprintf(`{"STARFLEET":%s,"Plain":"plain-model-Yt83"}`, slice), slice
}

func TestManagedInstancesServeManyReadersAcrossRotations(t *testing.T) {
	doc, _ := versionedSecret(0)
	resetMoto(t, doc)
	const ttl = 2 * time.Second
	l := start(t, withPlatform(extensiontest.Options{Model: extension.ManagedInstances}), withEnv("STARFLEET_SECRETS_TTL=2s"))
	l.waitInit()
	if regs := l.platform.Registrations(); len(regs) != 1 || !slices.Equal(regs[0].Events, []string{"SHUTDOWN"}) {
		t.Fatalf("registrations %+v, want SHUTDOWN alone", regs)
	}

	// 64 readers, as many worker processes would be, while the secret
	// rotates. put records when each version became current.
	var (
		mu       sync.Mutex
		putAt    = []time.Time{time.Now()}
		answers  atomic.Int64
		problems = make(chan string, 64)
	)
	currentAt := func(v int) (from, until time.Time) {
		mu.Lock()
		defer mu.Unlock()
		from, until = putAt[v], time.Now().Add(time.Hour)
		if v+1 < len(putAt) {
			until = putAt[v+1]
		}
		return from, until
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var readers sync.WaitGroup
	for range 64 {
		readers.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest("GET", l.base+"/secret/STARFLEET", nil)
				req.Header.Set("X-Aws-Parameters-Secrets-Token", l.token)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						problems <- err.Error()
					}
					return
				}
				var body bytes.Buffer
				_, _ = body.ReadFrom(resp.Body)
				resp.Body.Close()
				at := time.Now()
				var v int
				if resp.StatusCode != 200 || !strings.HasPrefix(body.String(), `{"SlackToken":"xoxb-model-v`) {
					problems <- fmt.Sprintf("answer %d %s", resp.StatusCode, body.String())
					return
				}
				fmt.Sscanf(strings.TrimPrefix(body.String(), `{"SlackToken":"xoxb-model-v`), "%03d", &v)
				// Current within the TTL: the version was still current
				// at some moment in the TTL before the answer (plus a
				// fetch's slack on a loaded machine).
				if _, until := currentAt(v); until.Before(at.Add(-ttl - 500*time.Millisecond)) {
					problems <- fmt.Sprintf("version %d served at %v, replaced %v before", v, at.Format(time.StampMilli), at.Sub(until))
					return
				}
				answers.Add(1)
			}
		})
	}
	for n := 1; n <= 4; n++ {
		pace(t, 1500*time.Millisecond)
		doc, _ := versionedSecret(n)
		mu.Lock()
		putSecret(t, doc)
		putAt = append(putAt, time.Now())
		mu.Unlock()
	}
	pace(t, ttl+time.Second)

	// Secrets Manager hangs: the refresh ahead of expiry is held at the
	// proxy, and every read is still answered, none waiting on it.
	l.proxy.Hold("GetSecretValue")
	held, cancelHeld := context.WithTimeout(t.Context(), 3*ttl)
	defer cancelHeld()
	if err := l.proxy.WaitHeld(held, "GetSecretValue", 1); err != nil {
		t.Fatalf("no refresh ahead of expiry began: %v", err)
	}
	before := answers.Load()
	// The held value expires meanwhile.
	poll(t, 2*ttl, 50*time.Millisecond, func() bool { return answers.Load() >= before+1000 })
	if got := answers.Load() - before; got < 1000 {
		t.Errorf("%d answers while Secrets Manager hung, want reads to go on", got)
	}
	cancel()
	l.proxy.Release("GetSecretValue")
	readers.Wait()
	close(problems)
	for p := range problems {
		t.Error(p)
	}
	calls := l.upstreamCalls()
	t.Logf("%d answers to 64 readers, %d GetSecretValue calls", answers.Load(), calls)
	if calls > 15 {
		t.Errorf("%d upstream calls in about 10 s at TTL 2 s: the refresh ahead is not shared", calls)
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
		t.Errorf("shutdown: %+v", res)
	}
	assertNoLeak(t, l, []string{"xoxb-model-v", "plain-model-Yt83"})
}

func TestAPlatformRefusingInvokeIsServedWithoutIt(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withPlatform(extensiontest.Options{RefuseInvoke: true}))
	l.waitInit()
	if regs := l.platform.Registrations(); len(regs) != 1 || !slices.Equal(regs[0].Events, []string{"SHUTDOWN"}) {
		t.Fatalf("registrations %+v, want one for SHUTDOWN alone", regs)
	}
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET = %d %s", a.status, a.body)
	}
	if !strings.Contains(l.output.String(), "refused INVOKE") {
		t.Error("the fallback is not logged")
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Errorf("shutdown: %+v", res)
	}
}

func TestSnapStartFetchesNothingDuringInit(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withPlatform(extensiontest.Options{Model: extension.SnapStart}))
	_, l.token = l.platform.ContainerCredentials() // the token Lambda gives a SnapStart function
	l.waitInit()
	// INIT is over (the snapshot would be taken now): nothing was fetched,
	// no credentials either.
	if n := l.upstreamCalls(); n != 0 {
		t.Fatalf("%d GetSecretValue calls during INIT, want none: the secret would be in the snapshot", n)
	}
	if served, refused := l.platform.CredentialRequests(); served+refused != 0 {
		t.Fatalf("credentials were fetched during INIT (%d, %d)", served, refused)
	}
	if a := l.get("GET", "/health"); a.status != 503 {
		t.Errorf("/health before the first INVOKE: %d %s, want 503", a.status, a.body)
	}
	// Restored and invoked: the first INVOKE fetches, with the container
	// credentials, and the handler's read finds the value.
	l.invoke()
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET = %d %s", a.status, a.body)
	}
	if served, refused := l.platform.CredentialRequests(); served < 1 || refused != 0 {
		t.Errorf("credential requests: %d served, %d refused; want the container token used", served, refused)
	}
	if n := l.upstreamCalls(); n != 1 {
		t.Errorf("%d GetSecretValue calls, want 1", n)
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Errorf("shutdown: %+v", res)
	}
	assertNoLeak(t, l, secretValues)
}

func TestProvisionedConcurrencyRefreshesOnTheFirstInvoke(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withPlatform(extensiontest.Options{Model: extension.ProvisionedConcurrency}), withEnv("STARFLEET_SECRETS_TTL=1s"))
	l.waitInit()
	if n := l.upstreamCalls(); n != 1 {
		t.Fatalf("%d GetSecretValue calls during INIT, want the prefetch", n)
	}
	// The environment waits, frozen, past the TTL; the secret rotates.
	rotated := strings.Replace(starfleetSecret, "plain-slice-Vb72Kd", "plain-slice-PCROT", 1)
	putSecret(t, rotated)
	if !poll(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return strings.Contains(l.get("GET", "/health").body, `"secret_age_s":2`)
	}) {
		t.Fatal("the cached value did not age past the TTL")
	}
	l.invoke()
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-PCROT"` {
		t.Errorf("first read after the first INVOKE: %d %s, want the rotated value", a.status, a.body)
	}
	if n := l.upstreamCalls(); n != 2 {
		t.Errorf("%d GetSecretValue calls, want 2", n)
	}
}

// TestIPv6Loopback: clients that resolve localhost to ::1 reach the
// extension too.
func TestIPv6Loopback(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here (%v); the extension serves 127.0.0.1 alone, which TestFirstRequestIsServedFromMemory covers", err)
	} else {
		ln.Close()
	}
	resetMoto(t, starfleetSecret)
	l := start(t)
	l.waitInit()
	l.base = strings.Replace(l.base, "127.0.0.1", "[::1]", 1)
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET over ::1 = %d %s", a.status, a.body)
	}
}

// TestReadYourWritesOfTheStarfleetSecret: in every execution model, a
// write of the Starfleet secret through the extension's SDK route is read
// back at once, by the SDK route and by the slice API, within the TTL;
// under Managed Instances too, where an expired value is otherwise served
// while it refreshes.
func TestReadYourWritesOfTheStarfleetSecret(t *testing.T) {
	// SnapStart's own token and credentials are another test's; its
	// cache is the same.
	for _, model := range []extension.Model{extension.OnDemand, extension.ProvisionedConcurrency, extension.ManagedInstances} {
		t.Run(string(model), func(t *testing.T) {
			before, _ := versionedSecret(1)
			resetMoto(t, before)
			in := start(t, withPlatform(extensiontest.Options{Model: model}), withEnv("STARFLEET_SECRETS_TTL=300s"))
			in.waitInit()
			if model != extension.ManagedInstances {
				in.invoke()
			}
			if got := in.get("GET", "/secret/STARFLEET"); got.status != 200 {
				t.Fatalf("before the write: %d %s", got.status, got.body)
			}
			cfg := aws.Config{Region: upstreamtest.Region, BaseEndpoint: aws.String(in.base),
				Credentials: credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, in.token)}
			sm := secretsmanager.NewFromConfig(cfg)
			after, slice := versionedSecret(2)
			if _, err := sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
				SecretId: aws.String("Starfleet"), SecretString: aws.String(after)}); err != nil {
				t.Fatalf("PutSecretValue through the extension: %v", err)
			}
			got, err := sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("Starfleet")})
			if err != nil || aws.ToString(got.SecretString) != after {
				t.Errorf("GetSecretValue after the write: %v, want the written value", err)
			}
			if a := in.get("GET", "/secret/STARFLEET"); a.status != 200 || a.body != slice || a.header.Get("Warning") != "" {
				t.Errorf("the slice after the write: %d %q (Warning %q), want the written slice, fresh", a.status, a.body, a.header.Get("Warning"))
			}
		})
	}
}
