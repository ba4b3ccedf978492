package e2e

// Parameter Store through the AWS layer's endpoint: prefetched during INIT
// in batches, then read by a client written the way published clients of
// the AWS layer are, against the real binary and moto.

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

func putParameter(t *testing.T, name, value string, kind types.ParameterType) {
	t.Helper()
	_, err := upstreamtest.SSMClient(e2e.moto.URL()).PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: kind, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// awsLayerClient runs e2e/testdata/aws-layer-client.mjs against l.
func awsLayerClient(t *testing.T, l *instance, names ...string) map[string]map[string]any {
	t.Helper()
	node := need(t, "node", "install Node.js 18 or newer")
	env := cleanEnv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="+strings.TrimPrefix(l.base, "http://127.0.0.1:"), "AWS_SESSION_TOKEN="+l.token)
	script, err := filepath.Abs(filepath.Join("testdata", "aws-layer-client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCmd(t, t.TempDir(), env, append([]string{node, script}, names...)...)
	if code != 0 {
		t.Fatalf("the AWS layer client: exit %d\n%s", code, stderr)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	return out
}

func TestAWSLayerClientReadsParametersAndSecrets(t *testing.T) {
	resetMoto(t, starfleetSecret)
	createSecret(t, "db-credentials", `{"password":"db-pass-Hq61Zt"}`)
	putParameter(t, "/app/flag", "flag-value-Lm30Xe", types.ParameterTypeString)
	putParameter(t, "/app/list", "a,b,list-Ur85Kc", types.ParameterTypeStringList)
	putParameter(t, "/app/secure", "secure-value-Pw47Nb", types.ParameterTypeSecureString)
	const ttl = 2
	l := start(t, withEnv("STARFLEET_SECRETS_TTL="+strconv.Itoa(ttl),
		"STARFLEET_SECRETS_PREFETCH=/app/flag,/app/list,/app/secure,db-credentials"))
	l.waitInit()
	// Three parameters sharing WithDecryption: one GetParameters call.
	if n, m, s := l.proxy.Count("GetParameters"), l.proxy.Count("GetParameter"), l.upstreamCalls(); n != 1 || m != 0 || s != 2 {
		t.Errorf("during INIT: %d GetParameters, %d GetParameter, %d GetSecretValue; want 1, 0, 2", n, m, s)
	}
	l.invoke()

	out := awsLayerClient(t, l, "ssm:/app/flag", "ssm:/app/list", "ssm:/app/secure", "secret:db-credentials", "ssm:/app/missing")
	for name, want := range map[string][2]string{
		"ssm:/app/flag":   {"String", "flag-value-Lm30Xe"},
		"ssm:/app/list":   {"StringList", "a,b,list-Ur85Kc"},
		"ssm:/app/secure": {"SecureString", "secure-value-Pw47Nb"},
	} {
		if p := out[name]; p["Type"] != want[0] || p["Value"] != want[1] || p["Version"] != 1.0 {
			t.Errorf("%s = %v, want %s %q version 1", name, p, want[0], want[1])
		}
		if d, _ := out[name]["LastModifiedDate"].(string); len(d) != len("2006-01-02T15:04:05.000Z") || !strings.HasSuffix(d, "Z") {
			t.Errorf("%s: LastModifiedDate %q, want UTC with three fractional digits", name, d)
		}
	}
	if s := out["secret:db-credentials"]; s["SecretString"] != `{"password":"db-pass-Hq61Zt"}` {
		t.Errorf("secret = %v", s)
	}
	if miss := out["ssm:/app/missing"]; miss["status"] != 502.0 || miss["body"].(map[string]any)["error"] != "ParameterNotFound" {
		t.Errorf("missing parameter = %v, want 502 ParameterNotFound", miss)
	}
	if n := l.proxy.Count("GetParameter"); n != 1 {
		t.Errorf("%d GetParameter calls after INIT, want 1 (the missing one): the rest were prefetched", n)
	}

	// A changed parameter reaches the client within the TTL.
	putParameter(t, "/app/flag", "flag-changed-Dv92Qa", types.ParameterTypeString)
	if !poll(t, ttl*time.Second+10*time.Second, 100*time.Millisecond, func() bool {
		if awsLayerClient(t, l, "ssm:/app/flag")["ssm:/app/flag"]["Value"] == "flag-changed-Dv92Qa" {
			return true
		}
		l.invoke()
		return false
	}) {
		t.Fatal("the changed parameter was not seen within the TTL")
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Errorf("shutdown: %+v", res)
	}
	assertNoLeak(t, l, []string{"db-pass-Hq61Zt", "flag-value-Lm30Xe", "list-Ur85Kc", "secure-value-Pw47Nb", "flag-changed-Dv92Qa"})
}

// TestRefreshNowOnSliceRoutes: the /secret routes take refreshNow, as the
// AWS endpoints do, and refuse any other query parameter.
func TestRefreshNowOnSliceRoutes(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t)
	l.waitInit()
	l.invoke()
	rotated := strings.Replace(starfleetSecret, "plain-slice-Vb72Kd", "plain-slice-NOW", 1)
	putSecret(t, rotated)
	if a := l.get("GET", "/secret/Plain?refreshNow=true"); a.status != 200 || a.body != `"plain-slice-NOW"` {
		t.Errorf("refreshNow=true: %d %s, want the rotated value", a.status, a.body)
	}
	for _, path := range []string{"/secret/Plain?refresh=true", "/secret?versionStage=AWSPREVIOUS", "/health?verbose=1"} {
		if a := l.get("GET", path); a.status != 400 || !strings.Contains(a.body, "UnknownParameter") {
			t.Errorf("%s: %d %s, want 400 UnknownParameter", path, a.status, a.body)
		}
	}
	if a := l.get("GET", "/nope"); a.status != 404 || !strings.Contains(a.body, "/systemsmanager/parameters/get") {
		t.Errorf("unknown route: %d %s, want the route list with Parameter Store", a.status, a.body)
	}
}
