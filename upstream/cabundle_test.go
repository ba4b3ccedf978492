package upstream

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// TestCABundleIsTrusted: an endpoint whose certificate a private
// authority signed (a TLS-inspecting proxy's) is refused, until
// AWS_CA_BUNDLE names that authority; in the default build a profile's
// ca_bundle does too, as in the SDK.
func TestCABundleIsTrusted(t *testing.T) {
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"Name":"S","VersionId":"v1","SecretString":"{}"}`))
	}))
	defer hs.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func() error {
		_, err := NewSecretsManager(clientsAt(t, hs.URL)).GetSecretValue(t.Context(), item.SecretKey{ID: "S"})
		return err
	}
	setenvFor(t, hs.URL)
	t.Setenv("AWS_CA_BUNDLE", "")
	if err := read(); err == nil {
		t.Fatal("a certificate of an unknown authority was trusted")
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	if err := read(); err != nil {
		t.Errorf("AWS_CA_BUNDLE names the authority: %v", err)
	}
	t.Setenv("AWS_CA_BUNDLE", filepath.Join(t.TempDir(), "missing.pem"))
	if _, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil); err == nil {
		t.Error("a missing AWS_CA_BUNDLE was accepted")
	}
	if !readsSharedConfig {
		return
	}
	t.Setenv("AWS_CA_BUNDLE", "")
	config := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(config, []byte("[default]\nca_bundle = "+bundle+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	if _, err := NewSecretsManager(clientsFromEnv(t)).GetSecretValue(t.Context(), item.SecretKey{ID: "S"}); err != nil {
		t.Errorf("a profile's ca_bundle names the authority: %v", err)
	}
}
