package migrate

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// starfleet is a Starfleet secret as a person writes it: indented, its
// slices in no particular order.
const starfleet = "{\n  \"STARFLEET\": {\"SlackToken\": \"xoxb-migrate-Q7d9\"},\n  \"GitHubSyncWorker\": {\n    \"org-a\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIGRATE-ORG-A\\n-----END RSA PRIVATE KEY-----\\n\"\n  }\n}\n"

// markers are what no line of output may hold.
var markers = []string{"xoxb-migrate", "MIGRATE-ORG-A", "ROTATED-ORG"}

func startMoto(t *testing.T) (*secretsmanager.Client, Service) {
	t.Helper()
	moto := upstreamtest.StartTestMoto(t)
	// The SDK's credential chain reads the process's environment itself.
	for _, kv := range upstreamtest.Env(moto.URL()) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	a, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := upstream.NewClients(a, upstreamtest.Region, "migrate-test")
	if err != nil {
		t.Fatal(err)
	}
	return upstreamtest.Client(moto.URL()), NewService(clients, upstreamtest.Region)
}

// TestSplitThenJoin against moto: split makes one secret per slice with
// the source's tags, is idempotent, and join gives the secret back byte for
// byte, a slice's rotation included; no line says a value.
func TestSplitThenJoin(t *testing.T) {
	sm, svc := startMoto(t)
	ctx := t.Context()
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("security")}}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("Starfleet"), SecretString: aws.String(starfleet), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := Options{Service: svc, Prefix: "Starfleet/", Out: &out}
	if err := Split(ctx, o, "Starfleet"); err != nil {
		t.Fatalf("split: %v\n%s", err, out.String())
	}
	wantLines(t, &out, "STARFLEET -> Starfleet/STARFLEET: created", "GitHubSyncWorker -> Starfleet/GitHubSyncWorker: created", "(layout) -> Starfleet/: created")
	value := func(id string) string {
		t.Helper()
		v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return aws.ToString(v.SecretString)
	}
	if got := value("Starfleet/STARFLEET"); got != `{"SlackToken": "xoxb-migrate-Q7d9"}` {
		t.Errorf("Starfleet/STARFLEET holds %q", got)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("Starfleet/GitHubSyncWorker")})
	if err != nil || len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team" {
		t.Errorf("the slice's tags: %v %v", d.Tags, err)
	}

	if err := Split(ctx, o, "Starfleet"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, &out, "STARFLEET -> Starfleet/STARFLEET: unchanged", "GitHubSyncWorker -> Starfleet/GitHubSyncWorker: unchanged", "(layout) -> Starfleet/: unchanged")
	versions, err := sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("Starfleet/STARFLEET")})
	if err != nil || len(versions.Versions) != 1 {
		t.Errorf("after a second split, Starfleet/STARFLEET has %d versions (%v), want 1", len(versions.Versions), err)
	}

	for _, names := range [][]string{nil, {"GitHubSyncWorker", "STARFLEET"}} {
		if err := Join(ctx, o, "Starfleet-joined", names); err != nil {
			t.Fatal(err)
		}
		if got := value("Starfleet-joined"); got != starfleet {
			t.Errorf("join (slices %v) gives %q, want the source byte for byte", names, got)
		}
	}
	wantLines(t, &out, "Starfleet/GitHubSyncWorker: read", "Starfleet/STARFLEET: read", "2 slices -> Starfleet-joined: created",
		"Starfleet/GitHubSyncWorker: read", "Starfleet/STARFLEET: read", "2 slices -> Starfleet-joined: unchanged")

	rotated := `{"org-a": "ROTATED-ORG"}`
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("Starfleet/GitHubSyncWorker"), SecretString: aws.String(rotated)}); err != nil {
		t.Fatal(err)
	}
	dry := o
	dry.DryRun = true
	if err := Join(ctx, dry, "Starfleet", nil); err != nil {
		t.Fatal(err)
	}
	wantLines(t, &out, "Starfleet/GitHubSyncWorker: read", "Starfleet/STARFLEET: read", "2 slices -> Starfleet: would be updated")
	if got := value("Starfleet"); got != starfleet {
		t.Error("a dry run wrote")
	}
	if err := Join(ctx, o, "Starfleet", nil); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	want := strings.Replace(starfleet, "{\n    \"org-a\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIGRATE-ORG-A\\n-----END RSA PRIVATE KEY-----\\n\"\n  }", rotated, 1)
	if got := value("Starfleet"); got != want {
		t.Errorf("after the slice's rotation, join gives %q, want %q", got, want)
	}
}

// TestSplitRefuses: what split cannot do it refuses before writing
// anything, saying why and not what the secret holds.
func TestSplitRefuses(t *testing.T) {
	sm, svc := startMoto(t)
	ctx := t.Context()
	for id, v := range map[string]string{"list": `["xoxb-migrate-1"]`, "spaced": `{"a b": "xoxb-migrate-2"}`, "broken": `{"a": xoxb-migrate-3`} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ from, prefix, want string }{
		{"list", "P/", "not a JSON object"},
		{"spaced", "P/", `slice "a b" cannot end a secret name`},
		{"broken", "P/", "not valid JSON"},
		{"missing", "P/", "ResourceNotFoundException"},
		{"list", "bad prefix", "must start a secret name"},
	} {
		var out bytes.Buffer
		err := Split(ctx, Options{Service: svc, Prefix: tc.prefix, Out: &out}, tc.from)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "xoxb") || out.Len() != 0 {
			t.Errorf("split %s into %q: %v, output %q; want a refusal saying %q", tc.from, tc.prefix, err, out.String(), tc.want)
		}
	}
	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil || len(list.SecretList) != 3 {
		t.Errorf("%d secrets after the refusals (%v), want the 3 created", len(list.SecretList), err)
	}
}

// wantLines checks, and consumes, what out holds.
func wantLines(t *testing.T, out *bytes.Buffer, want ...string) {
	t.Helper()
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, m := range markers {
		if strings.Contains(out.String(), m) {
			t.Errorf("the output holds %q", m)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("output\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out.Reset()
}
