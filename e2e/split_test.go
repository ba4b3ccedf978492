package e2e

// The split layout: each slice of the Starfleet secret its own secret, so
// that IAM can grant a function exactly its slices. moto behind the real
// binary, the counting proxy between them recording every call.

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestSplitLayoutReadsOnlyTheAllowedSlicesSecret: a function allowed only
// GitHubSyncWorker reads its slice, its keys and /secret as in the one-secret
// layout, is refused the others, and the extension makes upstream calls for
// that slice's secret alone; a rotation of it is read with refreshNow.
func TestSplitLayoutReadsOnlyTheAllowedSlicesSecret(t *testing.T) {
	splitLayoutInMoto(t)
	l := start(t, withEnv("STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_ALLOW=GitHubSyncWorker"))
	l.waitInit()

	github := rawSlice(t, starfleetSecret, "GitHubSyncWorker")
	if a := l.get("GET", "/secret/GitHubSyncWorker"); a.status != 200 || a.body != github || a.header.Get("ETag") == "" {
		t.Errorf("GET /secret/GitHubSyncWorker: %d %q", a.status, a.body)
	}
	if a := l.get("GET", "/secret/GitHubSyncWorker/org-a"); a.status != 200 || a.body != rawSlice(t, starfleetSecret, "GitHubSyncWorker", "org-a") {
		t.Errorf("GET /secret/GitHubSyncWorker/org-a: %d %q", a.status, a.body)
	}
	if a := l.get("GET", "/secret"); a.status != 200 || a.body != `{"GitHubSyncWorker":`+github+`}` {
		t.Errorf("GET /secret: %d %q", a.status, a.body)
	}
	if a := l.get("GET", "/secret/STARFLEET"); a.status != 403 {
		t.Errorf("GET /secret/STARFLEET: %d %q, want 403", a.status, a.body)
	}
	for _, id := range []string{"Starfleet/STARFLEET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet/STARFLEET"} {
		if a := l.get("GET", "/secretsmanager/get?secretId="+url.QueryEscape(id)); a.status != 403 || strings.Contains(a.body, "xoxb") {
			t.Errorf("GET /secretsmanager/get?secretId=%s: %d %q, want 403", id, a.status, a.body)
		}
	}
	var health struct {
		Status      string
		SlicePrefix string `json:"slice_prefix"`
		Slices      map[string]struct {
			VersionID string `json:"version_id"`
		}
	}
	if a := l.get("GET", "/health"); a.status != 200 || json.Unmarshal([]byte(a.body), &health) != nil ||
		health.Slices["GitHubSyncWorker"].VersionID == "" || len(health.Slices) != 1 || health.SlicePrefix != "Starfleet/" {
		t.Errorf("/health: %d %s", a.status, a.body)
	}

	for _, other := range []string{"Starfleet", "Starfleet/STARFLEET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet/STARFLEET"} {
		if n := l.proxy.CountSecret("", other); n != 0 {
			t.Errorf("%d upstream calls for %s", n, other)
		}
	}
	if n, m := l.proxy.CountSecret("BatchGetSecretValue", "Starfleet/GitHubSyncWorker"), l.proxy.CountSecret("", "Starfleet/GitHubSyncWorker"); n != 1 || m != 1 {
		t.Errorf("%d BatchGetSecretValue calls for Starfleet/GitHubSyncWorker and %d calls in all, want 1 (prefetched at INIT, then cached)", n, m)
	}

	rotated := `{"org-a":"-----BEGIN RSA PRIVATE KEY-----\nROTATED\n-----END RSA PRIVATE KEY-----\n"}`
	if _, err := sm().PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("Starfleet/GitHubSyncWorker"), SecretString: aws.String(rotated)}); err != nil {
		t.Fatal(err)
	}
	if a := l.get("GET", "/secret/GitHubSyncWorker?refreshNow=true"); a.status != 200 || a.body != rotated {
		t.Errorf("after the slice's rotation, with refreshNow: %d %q", a.status, a.body)
	}
	if n := l.proxy.CountSecret("", "Starfleet/STARFLEET"); n != 0 {
		t.Errorf("%d upstream calls for Starfleet/STARFLEET", n)
	}
	assertNoLeak(t, l, []string{"xoxb-e2e-slack", "ORG-A", "ROTATED"})
}

// TestSplitLayoutDiscoversItsSlices: with no allow-list and no slice list,
// the slices are the secrets named the prefix and more, listed once at
// start; the frame split leaves (the secret named the prefix alone) is
// none of them.
func TestSplitLayoutDiscoversItsSlices(t *testing.T) {
	doc := splitLayoutInMoto(t)
	createSecret(t, "Starfleet/", `{"slices":[],"segments":["{}"]}`)
	l := start(t, withEnv("STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/"))
	l.waitInit()
	var all map[string]json.RawMessage
	if a := l.get("GET", "/secret"); a.status != 200 || json.Unmarshal([]byte(a.body), &all) != nil || len(all) != len(doc) {
		t.Fatalf("GET /secret: %d %q, want every slice", a.status, a.body)
	}
	for name, raw := range doc {
		if string(all[name]) != string(raw) {
			t.Errorf("slice %s: %s, want %s", name, all[name], raw)
		}
	}
	if n := l.proxy.Count("ListSecrets"); n != 1 {
		t.Errorf("%d ListSecrets calls, want 1", n)
	}
}

// splitLayoutInMoto empties the emulator and stores each slice of the
// Starfleet secret as its own secret, Starfleet/<slice>; it returns the
// slices.
func splitLayoutInMoto(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	resetMoto(t, starfleetSecret)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(starfleetSecret), &doc); err != nil {
		t.Fatal(err)
	}
	for name, raw := range doc {
		createSecret(t, "Starfleet/"+name, string(raw))
	}
	return doc
}
