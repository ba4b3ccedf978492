package e2e

// Starfleet switching with one line: its own usage of the secrets module
// (examples/clients/python/tests/test_starfleet_usage.py) run against the
// real binary, which reads the secret's id from Starfleet's configuration.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// starfleetConfiguration is a Starfleet configuration file naming secretID.
func starfleetConfiguration(secretID string) string {
	return `STARFLEET:
  DeploymentRegion: ` + upstreamtest.Region + `
  TemplateBucket: template-bucket
  FanOutQueueUrl: https://sqs.amazonaws.com/fanout-queue
  SecretsManager:
    SecretId: ` + secretID + `
    SecretRegion: ` + upstreamtest.Region + `
  SlackEnabled: True
`
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// githubAppKey returns a GitHub app's private key as GitHub hands it out
// (PKCS #1 PEM) and its public key (PKIX PEM).
func githubAppKey(t *testing.T) (private, public string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

func TestStarfleetUsesTheExtensionUnchanged(t *testing.T) {
	python := need(t, "python3", "install Python 3 with boto3, PyYAML and cryptography")
	const secretID, ttl = "starfleet-e2e-secrets", 2
	if err := e2e.moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	privateA, publicA := githubAppKey(t)
	privateB, publicB := githubAppKey(t)
	doc, err := json.Marshal(map[string]any{
		"STARFLEET":        map[string]string{"SlackToken": "xoxb-starfleet-e2e-Rk52Tq"},
		"GitHubSyncWorker": map[string]string{"fakeorg": privateA, "otherorg": privateB},
		"AwsConfigWorker":  "plain-e2e-Mx83Lw",
	})
	if err != nil {
		t.Fatal(err)
	}
	createSecret(t, secretID, string(doc))
	configDir := t.TempDir()
	writeFile(t, filepath.Join(configDir, "configuration.yaml"), starfleetConfiguration(secretID))
	writeFile(t, filepath.Join(configDir, "github_sync.yaml"), "GitHubSyncWorker:\n  Enabled: True\n")

	// No STARFLEET_SECRET_ID: the extension takes the id from Starfleet's
	// configuration, as Starfleet does.
	l := start(t, withEnv("STARFLEET_CONFIG="+configDir, "STARFLEET_SECRETS_TTL="+strconv.Itoa(ttl)))
	l.waitInit()
	if a := l.get("GET", "/health"); a.status != 200 || !strings.Contains(a.body, `"secret_id":"`+secretID+`"`) {
		t.Fatalf("/health = %d %s, want ready and secret_id %s", a.status, a.body, secretID)
	}
	if !strings.Contains(l.output.String(), `"secret_id_from":"`+filepath.Join(configDir, "configuration.yaml")+`"`) {
		t.Errorf("the log does not say that Starfleet's configuration decided the secret id:\n%s", l.output)
	}
	l.invoke()

	publicKeys, _ := json.Marshal(map[string]string{"fakeorg": publicA, "otherorg": publicB})
	pyDir := filepath.Join(repoRoot(t), "examples", "clients", "python")
	env := cleanEnv(append(upstreamtest.Env(e2e.moto.URL()),
		"AWS_LAMBDA_RUNTIME_API="+l.platform.RuntimeAPI(),
		"AWS_SESSION_TOKEN="+l.token,
		"STARFLEET_SECRETS_PORT="+strings.TrimPrefix(l.base, "http://127.0.0.1:"),
		"STARFLEET_CONFIG="+configDir,
		"PYTHONPATH="+pyDir+string(os.PathListSeparator)+filepath.Join(pyDir, "tests", "fake_starfleet"),
		"TEST_PUBLIC_KEYS="+string(publicKeys),
		"TEST_TTL="+strconv.Itoa(ttl),
		"TEST_CLOSED_PORT="+strconv.Itoa(freePort(t)),
	)...)
	// botocore takes an empty AWS_PROFILE as a profile named "": unset the
	// variables cachetest blanks for the Go SDK instead.
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasSuffix(kv, "=") })
	stdout, stderr, code := runCmd(t, filepath.Join(pyDir, "tests"), env, python, "-m", "unittest", "-v", "test_starfleet_usage")
	if code != 0 || !strings.Contains(stderr, "\nOK") {
		t.Fatalf("Starfleet's usage against the extension: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("%s", stderr[strings.LastIndex(stderr, "\nRan "):])
	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Errorf("shutdown: %+v", res)
	}
	assertNoLeak(t, l, []string{"xoxb-starfleet-e2e", "plain-e2e-Mx83Lw", pemBody(privateA), pemBody(privateB)})
}

// pemBody is a line from the middle of a PEM block, which any leak of the
// key would carry.
func pemBody(p string) string {
	lines := strings.Split(p, "\n")
	return lines[len(lines)/2]
}

func TestStarfleetConfigurationInAZipDeployment(t *testing.T) {
	const secretID = "starfleet-zip-secrets"
	if err := e2e.moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	createSecret(t, secretID, starfleetSecret)
	// A zip function's code unpacks to LAMBDA_TASK_ROOT, with Starfleet's
	// package (and its configuration_files/) at its top.
	taskRoot := t.TempDir()
	writeFile(t, filepath.Join(taskRoot, "starfleet", "configuration_files", "configuration.yaml"), starfleetConfiguration(secretID))
	l := start(t, withEnv("LAMBDA_TASK_ROOT="+taskRoot))
	l.waitInit()
	if a := l.get("GET", "/health"); a.status != 200 || !strings.Contains(a.body, `"secret_id":"`+secretID+`"`) {
		t.Fatalf("/health = %d %s, want ready and secret_id %s", a.status, a.body, secretID)
	}
	l.invoke()
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET /secret/Plain = %d %s", a.status, a.body)
	}

	// Broken configuration stops the extension with a report naming the file.
	writeFile(t, filepath.Join(taskRoot, "starfleet", "configuration_files", "configuration.yaml"), "STARFLEET:\n  SecretsManager:\n    SecretId: x\n")
	broken := start(t, withEnv("LAMBDA_TASK_ROOT="+taskRoot))
	broken.stopped = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	report, err := broken.platform.WaitErrorReport(ctx)
	if err != nil {
		t.Fatalf("no init/error: %v\n%s", err, broken.output)
	}
	if !report.Init || report.ErrorType != "Extension.ConfigInvalid" || !strings.Contains(string(report.Body), "configuration.yaml") ||
		!strings.Contains(string(report.Body), "SecretRegion") {
		t.Errorf("report init=%v %s %s, want an init/error Extension.ConfigInvalid naming the file and SecretRegion", report.Init, report.ErrorType, report.Body)
	}
}
