package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// endpointSetting is one way a configuration names an endpoint or a
// variant: an environment variable, or a line of the shared config file.
type endpointSetting struct {
	env     string // NAME=value
	profile string // a line of [default]
	section string // a service's lines of the services section
}

// The settings, each naming a URL of its own so that the winner shows.
var (
	endpointSettings = []endpointSetting{
		{env: "AWS_ENDPOINT_URL=http://127.0.0.1:7001"},
		{env: "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:7002"},
		{env: "AWS_ENDPOINT_URL_SSM=http://127.0.0.1:7003/ssm"},
		{env: "AWS_ENDPOINT_URL_STS=http://127.0.0.1:7004"},
		{env: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"},
		{profile: "endpoint_url = http://127.0.0.1:7011"},
		{section: "secrets_manager =\n  endpoint_url = http://127.0.0.1:7012"},
		{section: "ssm =\n  endpoint_url = http://127.0.0.1:7013"},
		{section: "sts =\n  endpoint_url = http://127.0.0.1:7014"},
		{profile: "ignore_configured_endpoint_urls = true"},
	}
	variantSettings = []endpointSetting{
		{env: "AWS_USE_FIPS_ENDPOINT=true"},
		{env: "AWS_USE_DUALSTACK_ENDPOINT=true"},
		{profile: "use_fips_endpoint = true"},
		{profile: "use_dualstack_endpoint = true"},
	}
)

// errCaptured ends a request the SDK's client sends: its URL is all the
// test wants.
var errCaptured = errors.New("captured")

type capturing struct{ url string }

func (c *capturing) Do(r *http.Request) (*http.Response, error) {
	c.url = r.URL.Scheme + "://" + r.URL.Host + strings.TrimSuffix(r.URL.Path, "/")
	return nil, errCaptured
}

// sdkRequestURL is where a real SDK client of s, configured by cfg (from
// the environment and the shared files, as a function's would be), sends
// a request, or the error it refuses to with.
func sdkRequestURL(ctx context.Context, cfg aws.Config, s awsconfig.Service) (string, error) {
	c := &capturing{}
	cfg.HTTPClient, cfg.Retryer = c, func() aws.Retryer { return aws.NopRetryer{} }
	var err error
	switch s {
	case awsconfig.SecretsManager:
		_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("S")})
	case awsconfig.ParameterStore:
		_, err = ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
	default:
		_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	}
	if c.url == "" {
		return "", err
	}
	return c.url, nil
}

// applySettings sets the environment and writes the shared config file of
// the chosen settings; in the layer build the file is written but, as
// there, not read.
func applySettings(t *testing.T, dir string, chosen []endpointSetting) {
	t.Helper()
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"} {
		os.Unsetenv(name)
	}
	var profile, section []string
	for _, s := range chosen {
		if name, value, ok := strings.Cut(s.env, "="); ok {
			os.Setenv(name, value)
		}
		if s.profile != "" {
			profile = append(profile, s.profile)
		}
		if s.section != "" {
			section = append(section, s.section)
		}
	}
	file := "[default]\n" + strings.Join(profile, "\n") + "\n"
	if len(section) > 0 {
		file += "services = local\n[services local]\n" + strings.Join(section, "\n") + "\n"
	}
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Setenv("AWS_CONFIG_FILE", path)
}

// TestEndpointSettingsMatchTheSDK: for every combination of the endpoint
// settings (each service's variable, the general one, the services
// section, a profile's endpoint_url, both ways of ignoring them), and of
// the variant settings beside none or one override, each service's calls
// go where a real SDK client's go, or are refused where it refuses. The
// layer build reads no shared config file: there its oracle is the SDK
// given none.
func TestEndpointSettingsMatchTheSDK(t *testing.T) {
	setenvFor(t, "http://127.0.0.1:1")
	for _, name := range []string{"AWS_CONFIG_FILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"} {
		t.Setenv(name, "") // restored after the test
	}
	ctx := context.Background()
	dir := t.TempDir()
	var combos [][]endpointSetting
	for mask := 0; mask < 1<<len(endpointSettings); mask++ {
		combos = append(combos, choose(endpointSettings, mask))
	}
	for mask := 1; mask < 1<<len(variantSettings); mask++ {
		for _, override := range [][]endpointSetting{nil, endpointSettings[:1], endpointSettings[5:6]} {
			combos = append(combos, append(choose(variantSettings, mask), override...))
		}
	}
	if testing.Short() || raceEnabled {
		// Sequential, so the race detector has nothing to find: make test
		// runs the whole set once more without it.
		combos = sample(combos, 16)
	}
	compared := 0
	for _, chosen := range combos {
		applySettings(t, dir, chosen)
		a, err := awsconfig.LoadAWS(ctx, os.LookupEnv, nil)
		if err != nil {
			t.Fatalf("%v: %v", describe(chosen), err)
		}
		clients, err := NewClients(a, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if !readsSharedConfig {
			os.Setenv("AWS_CONFIG_FILE", os.DevNull)
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range awsconfig.Services {
			want, wantErr := sdkRequestURL(ctx, cfg, s)
			got, err := clients.endpointOf(s, upstreamtest.Region)
			switch {
			case wantErr != nil && err == nil:
				t.Errorf("%v: %s at %s; the SDK refuses: %v", describe(chosen), s.Name, got, wantErr)
			case wantErr == nil && (err != nil || got != want):
				t.Errorf("%v: %s at %q (%v); the SDK's client at %q", describe(chosen), s.Name, got, err, want)
			}
			compared++
		}
	}
	t.Logf("%d combinations of settings, %d endpoints compared", len(combos), compared)
}

// sample is every n-th of combos, the first and the last.
func sample(combos [][]endpointSetting, n int) [][]endpointSetting {
	var some [][]endpointSetting
	for i, c := range combos {
		if i%n == 0 || i == len(combos)-1 {
			some = append(some, c)
		}
	}
	return some
}

func choose(from []endpointSetting, mask int) []endpointSetting {
	var chosen []endpointSetting
	for i, s := range from {
		if mask&(1<<i) != 0 {
			chosen = append(chosen, s)
		}
	}
	return chosen
}

func describe(chosen []endpointSetting) string {
	var parts []string
	for _, s := range chosen {
		parts = append(parts, strings.ReplaceAll(s.env+s.profile+s.section, "\n ", ""))
	}
	return fmt.Sprintf("[%s]", strings.Join(parts, "; "))
}

// TestLoopGuardSeesEverySource: an override pointing at the extension is
// dropped whichever source set it, a profile's services section and
// endpoint_url included where they are read, and the next in line holds.
func TestLoopGuardSeesEverySource(t *testing.T) {
	setenvFor(t, "http://127.0.0.1:1")
	for _, name := range []string{"AWS_CONFIG_FILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"} {
		t.Setenv(name, "")
	}
	own := "https://secretsmanager.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		chosen []endpointSetting
		want   string
	}{
		{[]endpointSetting{{env: "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://localhost.:2773"}}, own},
		{[]endpointSetting{{env: "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:2773"}, {env: "AWS_ENDPOINT_URL=http://127.0.0.1:5000"}}, "http://127.0.0.1:5000"},
		{[]endpointSetting{{section: "secrets_manager =\n  endpoint_url = http://[::1]:2773"}}, own},
		{[]endpointSetting{{profile: "endpoint_url = http://app.localhost:2773"}}, own},
		{[]endpointSetting{{section: "secrets_manager =\n  endpoint_url = http://127.0.0.1:2773"}, {profile: "endpoint_url = http://127.0.0.1:5000"}}, "http://127.0.0.1:5000"},
	} {
		applySettings(t, t.TempDir(), tc.chosen)
		a, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.IgnoreEndpointsAt(2773)
		clients, err := NewClients(a, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want
		if !readsSharedConfig && tc.chosen[0].env == "" {
			want = own // the layer build reads no shared config
		}
		if got, err := clients.endpointOf(awsconfig.SecretsManager, upstreamtest.Region); err != nil || got != want {
			t.Errorf("%v: Secrets Manager at %q (%v), want %q", describe(tc.chosen), got, err, want)
		}
	}
}

func TestEndpointVariantFromTheEnvironment(t *testing.T) {
	setenvFor(t, "http://127.0.0.1:1")
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"} {
		os.Unsetenv(name)
	}
	for _, tc := range []struct {
		fips, dualStack string
		want            string
	}{
		{"", "", "https://secretsmanager.us-gov-west-1.amazonaws.com"},
		{"true", "", "https://secretsmanager-fips.us-gov-west-1.amazonaws.com"},
		{"TRUE", "false", "https://secretsmanager-fips.us-gov-west-1.amazonaws.com"},
		{"false", "true", "https://secretsmanager.us-gov-west-1.amazonaws.com"},
		{"yes", "", ""},
		{"", "1", ""},
	} {
		t.Setenv("AWS_USE_FIPS_ENDPOINT", tc.fips)
		t.Setenv("AWS_USE_DUALSTACK_ENDPOINT", tc.dualStack)
		a, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
		if tc.want == "" {
			if err == nil {
				t.Errorf("AWS_USE_FIPS_ENDPOINT=%q AWS_USE_DUALSTACK_ENDPOINT=%q accepted", tc.fips, tc.dualStack)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewClients(a, "us-gov-west-1", "test")
		if err != nil {
			t.Fatal(err)
		}
		req, _, err := c.signed(t.Context(), awsconfig.SecretsManager, c.routeOf(item.SecretKey{ID: "S"}), nil, nil, 0)
		if err != nil || req.url != tc.want {
			t.Errorf("AWS_USE_FIPS_ENDPOINT=%q AWS_USE_DUALSTACK_ENDPOINT=%q: %q, %v; want %q", tc.fips, tc.dualStack, req.url, err, tc.want)
		}
	}
}
