//go:build lambda

package awsconfig

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLambdaConfigFromTheEnvironment(t *testing.T) {
	cfg, err := lambdaConfig(lookupIn(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
	}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDLAMBDA" || creds.SessionToken != "session" {
		t.Errorf("credentials %+v %v", creds, err)
	}
	if cfg.Region != "eu-west-1" || cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:4566" {
		t.Errorf("region %q, endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	cfg, _ = lambdaConfig(lookupIn(map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}))
	if cfg.Region != "us-east-2" || cfg.BaseEndpoint != nil {
		t.Errorf("AWS_DEFAULT_REGION and the ignore switch: %q %v", cfg.Region, cfg.BaseEndpoint)
	}
}

// TestLambdaConfigFromTheContainerEndpoint: SnapStart and Managed
// Instances give no static keys, an endpoint and a token (or a token file).
func TestLambdaConfigFromTheContainerEndpoint(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"}`))
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("from-file\n"), 0o600)
	for _, env := range []map[string]string{
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "from-env", "AWS_ACCESS_KEY_ID": ""},
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile},
	} {
		env["AWS_REGION"] = "us-east-1"
		cfg, err := lambdaConfig(lookupIn(env))
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || creds.AccessKeyID != "ASIACONTAINER" {
			t.Errorf("credentials %+v %v", creds, err)
		}
	}
	if strings.Join(auth, ",") != "from-env,from-file" {
		t.Errorf("Authorization headers %q", auth)
	}
	for _, bad := range []string{"http://203.0.113.7/creds", "ftp://127.0.0.1/", "::"} {
		if _, err := lambdaConfig(lookupIn(map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": bad, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "x"})); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := lambdaConfig(lookupIn(map[string]string{"AWS_REGION": "us-east-1"})); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("no credentials at all: %v", err)
	}
}
