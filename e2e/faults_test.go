package e2e

// The fault matrix: what the real binary answers for every way Secrets
// Manager, the secret's content or the Lambda platform can go wrong. Every
// row runs its own binary at debug level and ends by searching that
// binary's whole output for the row's secret values and the token.
//
// Rows run in parallel (each has its own secret in moto, its own proxy and
// its own fake platform); the parent tests reset moto first, as sequential
// tests, so no other test's reset can run under them.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// rowSecret is the Starfleet secret every upstream row serves; its values
// carry the row's name so a leak is attributable.
func rowSecret(row string) (doc, plainValue string, markers []string) {
	m1, m2 := "plain-"+row+"-Vq3Lx9", "token-"+row+"-Jd72Pw"
	doc = fmt.Sprintf(`{"Plain":%q,"STARFLEET":{"SlackToken":%q}}`, m1, m2)
	return doc, strconv.Quote(m1), []string{m1, m2}
}

type upstreamFault struct {
	name string
	// inject starts the fault, clear ends it (id is the row's secret).
	inject, clear func(t *testing.T, p *upstreamtest.Proxy, id, doc string)
	status        int    // answer when nothing servable is cached
	code          string // the "error" member of that answer
	transient     bool   // warm and expired: served stale (else an error at once)
}

func proxyFault(f upstreamtest.Fault) (inject, clear func(*testing.T, *upstreamtest.Proxy, string, string)) {
	return func(_ *testing.T, p *upstreamtest.Proxy, _, _ string) { p.SetFault("GetSecretValue", f) },
		func(_ *testing.T, p *upstreamtest.Proxy, _, _ string) { p.ClearFaults(); p.Release("GetSecretValue") }
}

var upstreamFaults = func() []upstreamFault {
	row := func(name string, f upstreamtest.Fault, status int, code string, transient bool) upstreamFault {
		inject, clear := proxyFault(f)
		return upstreamFault{name, inject, clear, status, code, transient}
	}
	forceDelete := func(t *testing.T, _ *upstreamtest.Proxy, id, _ string) {
		_, err := sm().DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
	}
	recreate := func(t *testing.T, _ *upstreamtest.Proxy, id, doc string) { createSecret(t, id, doc) }
	scheduleDelete := func(t *testing.T, _ *upstreamtest.Proxy, id, _ string) {
		if _, err := sm().DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	restore := func(t *testing.T, _ *upstreamtest.Proxy, id, _ string) {
		if _, err := sm().RestoreSecret(context.Background(), &secretsmanager.RestoreSecretInput{SecretId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	return []upstreamFault{
		row("Throttling", upstreamtest.Throttle, 502, "ThrottlingException", true),
		row("InternalError500", upstreamtest.InternalError, 502, "InternalServiceError", true),
		row("SlowerThanFetchTimeout", upstreamtest.Slow, 504, "Timeout", true),
		row("ConnectionReset", upstreamtest.Reset, 502, "ConnectionError", true),
		row("GarbageBody", upstreamtest.Garbage, 502, "InvalidResponse", true),
		row("AccessDenied", upstreamtest.AccessDenied, 502, "AccessDeniedException", false),
		row("ResourceNotFound", upstreamtest.NotFound, 502, "ResourceNotFoundException", false),
		{"DeletedForce", forceDelete, recreate, 502, "ResourceNotFoundException", false},
		{"DeletedScheduled", scheduleDelete, restore, 502, "InvalidRequestException", false},
	}
}()

// TestFaultMatrixUpstream: each Secrets Manager failure, first with
// nothing cached ("cold": an error naming the code), then with an expired
// value cached ("warm": served stale for a transient failure, an error at
// once for a permanent one).
func TestFaultMatrixUpstream(t *testing.T) {
	if err := e2e.moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, f := range upstreamFaults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			id := "Row-" + f.name
			doc, plain, markers := rowSecret(f.name)
			createSecret(t, id, doc)
			var proxy *upstreamtest.Proxy
			l := start(t, withProxy(func(p *upstreamtest.Proxy) { proxy = p; f.inject(t, p, id, doc) }), withEnv("STARFLEET_SECRET_ID="+id, "STARFLEET_SECRETS_TTL=1s", "STARFLEET_SECRETS_FETCH_TIMEOUT=1s", "STARFLEET_SECRETS_MAX_STALE=60s"))
			l.waitInit()
			var bodies []string

			// Cold.
			a := l.get("GET", "/secret/Plain")
			code, msg := errorBody(t, a)
			bodies = append(bodies, a.body)
			if a.status != f.status || code != f.code || msg == "" {
				t.Errorf("cold: %d %s, want %d %s", a.status, a.body, f.status, f.code)
			}
			if h := l.get("GET", "/health"); h.status != 503 {
				t.Errorf("cold /health: %d %s, want 503", h.status, h.body)
			}

			// Recovery, then the fault again once the value is cached.
			f.clear(t, proxy, id, doc)
			pollAnswer(t, l, 20*time.Second, "/secret/Plain", func(a answer) bool { return a.status == 200 && a.body == plain })
			f.inject(t, proxy, id, doc)
			a = pollAnswer(t, l, 15*time.Second, "/secret/Plain", func(a answer) bool {
				return a.status != 200 || a.header.Get("Warning") != ""
			})
			if f.transient {
				if a.status != 200 || a.body != plain || a.header.Get("Warning") != staleWarning {
					t.Errorf("warm, expired: %d %s %q, want 200, the cached value and the stale Warning", a.status, a.body, a.header.Get("Warning"))
				}
				for range 3 {
					if a := l.get("GET", "/secret/STARFLEET/SlackToken"); a.status != 200 || a.header.Get("Warning") != staleWarning {
						t.Errorf("warm, expired, again: %d %s", a.status, a.body)
					}
				}
			} else {
				code, _ := errorBody(t, a)
				bodies = append(bodies, a.body)
				if a.status != f.status || code != f.code {
					t.Errorf("warm, expired: %d %s, want %d %s at once", a.status, a.body, f.status, f.code)
				}
			}
			f.clear(t, proxy, id, doc)
			if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
				t.Errorf("shutdown: %+v", res)
			}
			assertNoLeak(t, l, markers, bodies...)
		})
	}
}

type contentRow struct {
	name   string
	create func(t *testing.T, id string) // puts the secret in moto
	path   string
	status int
	code   string // error code, or "" for 200
	want   string // for 200: the exact body; else a part of the message
	file   []byte // instead of create: served from a local file
}

func stringSecret(value string) func(*testing.T, string) {
	return func(t *testing.T, id string) { createSecret(t, id, value) }
}

// exactDoc is a JSON object of exactly n bytes (n >= 64): one slice
// "Big" whose string value pads the document.
func exactDoc(n int) (doc, big string) {
	frame := `{"Big":"","Plain":"max-size-Tr42Kw"}`
	pad := strings.Repeat("m", n-len(frame))
	return `{"Big":"` + pad + `","Plain":"max-size-Tr42Kw"}`, `"` + pad + `"`
}

func nestedDoc(depth int) (doc, slice string) {
	slice = strings.Repeat("[", depth) + `"deep-Lp07Xs"` + strings.Repeat("]", depth)
	return `{"Deep":` + slice + `}`, slice
}

// TestFaultMatrixContent: what is served for each shape of secret
// content.
func TestFaultMatrixContent(t *testing.T) {
	if err := e2e.moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	maxDoc, maxBig := exactDoc(65536)
	if len(maxDoc) != 65536 || !json.Valid([]byte(maxDoc)) {
		t.Fatalf("the max-size document is %d bytes", len(maxDoc))
	}
	deepOK, deepOKSlice := nestedDoc(9999)
	deepBad, _ := nestedDoc(10000)
	rows := []contentRow{
		{"NotJSON", stringSecret("password=not-json-Wm83Zq"), "/secret/Plain", 502, "SecretNotJSONObject", "invalid JSON at byte", nil},
		{"JSONArray", stringSecret(`["array-Wm83Zq"]`), "/secret/Plain", 502, "SecretNotJSONObject", "top level is an array", nil},
		{"JSONString", stringSecret(`"string-Wm83Zq"`), "/secret/Plain", 502, "SecretNotJSONObject", "top level is a string", nil},
		// Secrets Manager requires 1 byte at least; moto stores an empty
		// SecretString as no value at all.
		{"Empty", stringSecret(""), "/secret/Plain", 502, "ResourceNotFoundException", "find the specified secret", nil},
		{"BinaryOnly", func(t *testing.T, id string) {
			_, err := sm().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretBinary: []byte("binary-Wm83Zq")})
			if err != nil {
				t.Fatal(err)
			}
		}, "/secret/Plain", 502, "SecretNotJSONObject", "no SecretString", nil},
		{"Exactly65536Bytes", stringSecret(maxDoc), "/secret/Big", 200, "", maxBig, nil},
		{"Exactly65536BytesOtherSlice", stringSecret(maxDoc), "/secret/Plain", 200, "", `"max-size-Tr42Kw"`, nil},
		{"Nested9999InASlice", stringSecret(deepOK), "/secret/Deep", 200, "", deepOKSlice, nil},
		{"Nested10000InASlice", stringSecret(deepBad), "/secret/Deep", 502, "SecretNotJSONObject", "nested deeper than 10000 levels", nil},
		{"DuplicateKeys", stringSecret(`{"Plain":"dup-1-Wm83Zq","Plain":"dup-2-Wm83Zq"}`), "/secret/Plain", 502, "SecretNotJSONObject", `duplicate key \"Plain\"`, nil},
		{"DuplicateKeysInASlice", stringSecret(`{"S":{"k":"dup-1-Wm83Zq","k":"dup-2-Wm83Zq"}}`), "/secret/S", 502, "SecretNotJSONObject", `slice \"S\": duplicate key \"k\"`, nil},
	}
	// The local file source reads raw bytes: it can hold what Secrets
	// Manager's JSON API cannot carry (invalid UTF-8; the SDK and moto pass
	// only valid UTF-8) or refuses (an empty SecretString).
	rows = append(rows,
		contentRow{name: "EmptyFile", file: []byte{}, path: "/secret/Plain", status: 502, code: "SecretNotJSONObject", want: "JSON ends early"},
		contentRow{name: "InvalidUTF8File", file: []byte("{\"Plain\":\"utf8-\xff\xfe-Wm83Zq\"}"), path: "/secret/Plain", status: 502, code: "SecretNotJSONObject", want: "not valid UTF-8"},
	)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			id := "Content-" + r.name
			var env []string
			if r.file != nil {
				file := filepath.Join(t.TempDir(), "secret.json")
				if err := os.WriteFile(file, r.file, 0o600); err != nil {
					t.Fatal(err)
				}
				env = append(env, "STARFLEET_SECRETS_FILE="+file)
			} else {
				r.create(t, id)
			}
			l := start(t, withEnv(append(env, "STARFLEET_SECRET_ID="+id)...))
			l.waitInit()
			a := l.get("GET", r.path)
			checkContentAnswer(t, a, r)
			if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
				t.Errorf("shutdown: %+v", res)
			}
			assertNoLeak(t, l, []string{"Wm83Zq", "Tr42Kw", "Lp07Xs", strings.Repeat("m", 64)}, errorOnly(a)...)
		})
	}
}

func errorOnly(a answer) []string {
	if a.status == 200 {
		return nil
	}
	return []string{a.body}
}

func checkContentAnswer(t *testing.T, a answer, r contentRow) {
	t.Helper()
	if r.code == "" {
		if a.status != 200 || a.body != r.want {
			t.Errorf("%d, %d bytes (%.80q...), want 200 and the %d bytes stored", a.status, len(a.body), a.body, len(r.want))
		}
		if cl := a.header.Get("Content-Length"); cl != strconv.Itoa(len(r.want)) {
			t.Errorf("Content-Length %s, want %d", cl, len(r.want))
		}
		return
	}
	code, _ := errorBody(t, a)
	if a.status != r.status || code != r.code || !strings.Contains(a.body, r.want) {
		t.Errorf("%d %s, want %d %s mentioning %s", a.status, a.body, r.status, r.code, r.want)
	}
}

// TestMissesWithinTheNegativeTTLCostOneCall: a loop asking for a secret
// that does not exist makes one upstream call per negative TTL, answered
// each time with the service's own status and message; a forced refresh
// asks again.
func TestMissesWithinTheNegativeTTLCostOneCall(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const negativeTTL = 10 * time.Second
	l := start(t, withEnv("STARFLEET_SECRETS_NEGATIVE_TTL=10s"))
	l.waitInit()
	before := l.upstreamCalls()
	const path = "/secretsmanager/get?secretId=missing-Nx81"
	first := l.get("GET", path)
	began := time.Now()
	for range 999 {
		if a := l.get("GET", path); a.status != first.status || a.body != first.body {
			t.Fatalf("a remembered miss answered %d %s, the first %d %s", a.status, a.body, first.status, first.body)
		}
	}
	if took := time.Since(began); took >= negativeTTL {
		t.Fatalf("1,000 requests took %v, longer than the negative TTL the test relies on", took)
	}
	if code, _ := errorBody(t, first); first.status != 502 || code != "ResourceNotFoundException" {
		t.Fatalf("the miss answered %d %s", first.status, first.body)
	}
	if n := l.upstreamCalls() - before; n != 1 {
		t.Errorf("%d upstream calls for 1,000 misses within the negative TTL, want 1", n)
	}
	if !poll(t, negativeTTL+5*time.Second, 100*time.Millisecond, func() bool {
		l.get("GET", path)
		return l.upstreamCalls()-before == 2
	}) {
		t.Fatalf("%d upstream calls after the negative TTL, want 2", l.upstreamCalls()-before)
	}
	l.get("GET", path, "Cache-Control", "no-cache")
	if n := l.upstreamCalls() - before; n != 3 {
		t.Errorf("%d upstream calls after a forced read, want 3: it bypasses what is remembered", n)
	}
}
