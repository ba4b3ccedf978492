package main

import (
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/item"
)

func env(kv ...string) LookupFunc {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Secret: SecretConfig{ID: "Starfleet", IDFrom: "default", VersionStage: "AWSCURRENT"},
		Cache: CacheConfig{
			Secrets:    Freshness{TTL: 300 * time.Second, FetchTimeout: 5 * time.Second},
			Parameters: Freshness{TTL: 300 * time.Second, FetchTimeout: 5 * time.Second},
			MaxStale:   15 * time.Minute, NegativeTTL: 5 * time.Second, Size: 1000,
		},
		Server:  ServerConfig{Port: 2773, Token: "tok"},
		Log:     LogConfig{Level: slog.LevelInfo},
		Metrics: MetricsConfig{Enabled: true, Namespace: "StarfleetSecrets"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadConfigEverything(t *testing.T) {
	c, err := LoadConfig(env(
		"STARFLEET_SECRET_ID", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Starfleet-AbCdEf",
		"STARFLEET_SECRET_REGION", "eu-west-1",
		"AWS_REGION", "us-east-1",
		"STARFLEET_SECRETS_TTL", "90",
		"STARFLEET_SECRETS_MAX_STALE", "1h",
		"STARFLEET_SECRETS_NEGATIVE_TTL", "2s",
		"STARFLEET_SECRETS_VERSION_STAGE", "AWSPENDING",
		"STARFLEET_SECRETS_PORT", "9000",
		"STARFLEET_SECRETS_ALLOW", " STARFLEET, GitHubSyncWorker ,",
		"STARFLEET_SECRETS_FILE", "x.json",
		"STARFLEET_SECRETS_FETCH_TIMEOUT", "1500ms",
		"STARFLEET_SECRETS_LOG_LEVEL", "DEBUG",
		"STARFLEET_SECRETS_TOKEN", "explicit",
		"AWS_SESSION_TOKEN", "session",
		"STARFLEET_SECRETS_CACHE_SIZE", "7",
		"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001",
		"AWS_LAMBDA_FUNCTION_NAME", "github-sync",
		"STARFLEET_SECRETS_METRICS", "false",
		"STARFLEET_SECRETS_METRICS_NAMESPACE", "Starfleet/Secrets",
	))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Lambda: LambdaConfig{RuntimeAPI: "127.0.0.1:9001", Model: "on-demand", FunctionName: "github-sync"},
		Secret: SecretConfig{
			ID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Starfleet-AbCdEf", Region: "eu-west-1",
			IDFrom: "STARFLEET_SECRET_ID", RegionFrom: "STARFLEET_SECRET_REGION", VersionStage: "AWSPENDING", File: "x.json",
		},
		Cache: CacheConfig{
			Secrets:    Freshness{TTL: 90 * time.Second, FetchTimeout: 1500 * time.Millisecond},
			Parameters: Freshness{TTL: 90 * time.Second, FetchTimeout: 1500 * time.Millisecond},
			MaxStale:   time.Hour, NegativeTTL: 2 * time.Second, Size: 7,
		},
		Server:  ServerConfig{Port: 9000, Allow: []string{"STARFLEET", "GitHubSyncWorker"}, Token: "explicit"},
		Log:     LogConfig{Level: slog.LevelDebug},
		Metrics: MetricsConfig{Enabled: false, Namespace: "Starfleet/Secrets"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if !c.InLambda() {
		t.Error("InLambda false with AWS_LAMBDA_RUNTIME_API set")
	}
}

// TestAWSLayerAliases checks every variable of the AWS Parameters and
// Secrets Lambda Extension, alone and losing to ours.
func TestAWSLayerAliases(t *testing.T) {
	tests := []struct {
		name  string
		env   LookupFunc
		check func(Config) bool
	}{
		{"SECRETS_MANAGER_TTL", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TTL", "3600"),
			func(c Config) bool { return c.Cache.Secrets.TTL == time.Hour }}, // not clamped to 300
		{"ours wins over SECRETS_MANAGER_TTL", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TTL", "3600", "STARFLEET_SECRETS_TTL", "10s"),
			func(c Config) bool { return c.Cache.Secrets.TTL == 10*time.Second }},
		{"CACHE_ENABLED=false", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "false"),
			func(c Config) bool { return c.Cache.Secrets.TTL == 0 }},
		{"ours wins over CACHE_ENABLED=false", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "false", "STARFLEET_SECRETS_TTL", "60"),
			func(c Config) bool { return c.Cache.Secrets.TTL == time.Minute }},
		{"CACHE_SIZE=0 turns caching off, as on the AWS layer", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "0"),
			func(c Config) bool { return c.Cache.Secrets.TTL == 0 && c.Cache.Size == defaultCacheSize }},
		{"ours wins over CACHE_SIZE=0", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "0", "STARFLEET_SECRETS_TTL", "60"),
			func(c Config) bool { return c.Cache.Secrets.TTL == time.Minute }},
		{"CACHE_ENABLED=true", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "true"),
			func(c Config) bool { return c.Cache.Secrets.TTL == defaultTTL }},
		{"HTTP_PORT", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2774"),
			func(c Config) bool { return c.Server.Port == 2774 }},
		{"ours wins over HTTP_PORT", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2774", "STARFLEET_SECRETS_PORT", "2775"),
			func(c Config) bool { return c.Server.Port == 2775 }},
		{"LOG_LEVEL", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "warn"),
			func(c Config) bool { return c.Log.Level == slog.LevelWarn }},
		{"ours wins over LOG_LEVEL", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "warn", "STARFLEET_SECRETS_LOG_LEVEL", "none"),
			func(c Config) bool { return c.Log.Off }},
		{"CACHE_SIZE", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "5"),
			func(c Config) bool { return c.Cache.Size == 5 }},
		{"ours wins over CACHE_SIZE", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "5", "STARFLEET_SECRETS_CACHE_SIZE", "6"),
			func(c Config) bool { return c.Cache.Size == 6 }},
		{"TIMEOUT_MILLIS", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TIMEOUT_MILLIS", "250"),
			func(c Config) bool { return c.Cache.Secrets.FetchTimeout == 250*time.Millisecond }},
		{"TIMEOUT_MILLIS=0 keeps a bound", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TIMEOUT_MILLIS", "0"),
			func(c Config) bool { return c.Cache.Secrets.FetchTimeout == defaultFetchTimeout }},
		{"ours wins over TIMEOUT_MILLIS", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TIMEOUT_MILLIS", "250", "STARFLEET_SECRETS_FETCH_TIMEOUT", "2s"),
			func(c Config) bool { return c.Cache.Secrets.FetchTimeout == 2*time.Second }},
		{"token order", env("AWS_TOKEN", "a", "AWS_SESSION_TOKEN", "b", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "c"),
			func(c Config) bool { return c.Server.Token == "a" }},
		{"SnapStart token", env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "c"),
			func(c Config) bool { return c.Server.Token == "c" }},
		{"region fallback", env("AWS_SESSION_TOKEN", "t", "AWS_REGION", "ap-south-1"),
			func(c Config) bool { return c.Secret.Region == "ap-south-1" }},
		{"ours wins over AWS_TOKEN", env("STARFLEET_SECRETS_TOKEN", "ours", "AWS_TOKEN", "a", "AWS_SESSION_TOKEN", "b"),
			func(c Config) bool { return c.Server.Token == "ours" }},
		{"AWS_SESSION_TOKEN before the SnapStart token", env("AWS_SESSION_TOKEN", "b", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "c"),
			func(c Config) bool { return c.Server.Token == "b" }},
		{"blank ours falls back to the AWS name", env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_PORT", " ", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2774"),
			func(c Config) bool { return c.Server.Port == 2774 }},
		{"SECRETS_MANAGER_TTL=0", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TTL", "0"),
			func(c Config) bool { return c.Cache.Secrets.TTL == 0 }},
		{"ours wins over SECRETS_MANAGER_TTL even at 0", env("AWS_SESSION_TOKEN", "t", "SECRETS_MANAGER_TTL", "60", "STARFLEET_SECRETS_TTL", "0"),
			func(c Config) bool { return c.Cache.Secrets.TTL == 0 }},
		{"CACHE_SIZE at the AWS layer's maximum", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "1000"),
			func(c Config) bool { return c.Cache.Size == 1000 }},
		{"LOG_LEVEL none", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "NONE"),
			func(c Config) bool { return c.Log.Off }},
		{"ours wins over AWS_REGION", env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRET_REGION", "eu-west-1", "AWS_REGION", "us-east-1"),
			func(c Config) bool { return c.Secret.Region == "eu-west-1" }},
		{"AWS_REGION wins over AWS_DEFAULT_REGION", env("AWS_SESSION_TOKEN", "t", "AWS_REGION", "us-east-1", "AWS_DEFAULT_REGION", "us-west-2"),
			func(c Config) bool { return c.Secret.Region == "us-east-1" }},
		{"AWS_DEFAULT_REGION fallback", env("AWS_SESSION_TOKEN", "t", "AWS_DEFAULT_REGION", "us-west-2"),
			func(c Config) bool { return c.Secret.Region == "us-west-2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := LoadConfig(env(
		"STARFLEET_SECRETS_TTL", "soon",
		"STARFLEET_SECRETS_MAX_STALE", "-1m",
		"STARFLEET_SECRETS_PORT", "70000",
		"STARFLEET_SECRETS_LOG_LEVEL", "loud",
		"STARFLEET_SECRETS_FETCH_TIMEOUT", "0",
		"STARFLEET_SECRETS_CACHE_SIZE", "0",
		"STARFLEET_SECRETS_ALLOW", "ok,bad\x01name",
		"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "maybe",
		"STARFLEET_SECRETS_METRICS", "sometimes",
		"STARFLEET_SECRETS_METRICS_NAMESPACE", "bad\nnamespace",
	))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"STARFLEET_SECRETS_TTL=\"soon\"", "STARFLEET_SECRETS_MAX_STALE=\"-1m\"", "STARFLEET_SECRETS_PORT=\"70000\"",
		"STARFLEET_SECRETS_LOG_LEVEL=\"loud\"", "STARFLEET_SECRETS_FETCH_TIMEOUT=\"0\"", "STARFLEET_SECRETS_CACHE_SIZE",
		"STARFLEET_SECRETS_ALLOW", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "no token",
		"STARFLEET_SECRETS_METRICS=", "STARFLEET_SECRETS_METRICS_NAMESPACE=",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestTokenIsNeverQuoted(t *testing.T) {
	_, err := LoadConfig(env("STARFLEET_SECRETS_TOKEN", "super-secret-token", "STARFLEET_SECRETS_PORT", "x"))
	if err == nil || strings.Contains(err.Error(), "super-secret-token") {
		t.Errorf("err = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"300", 300 * time.Second, true}, {"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true}, {"250ms", 250 * time.Millisecond, true},
		{"-1", 0, false}, {"-5s", 0, false}, {"5 minutes", 0, false}, {"", 0, false},
		{"99999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// TestAWSLayerAliasEdges completes TestAWSLayerAliases: the remaining
// precedence rules between our variables, the AWS layer's and the SDK's,
// and that a bad value of an AWS variable is reported under its own name.
// TestAWSLayerAliasErrors checks that a bad value is reported under the name
// it was given, AWS layer names included.
func TestAWSLayerAliasErrors(t *testing.T) {
	bad := []struct{ name, value string }{
		{"SECRETS_MANAGER_TTL", "5m"}, // the AWS layer takes whole seconds only
		{"SECRETS_MANAGER_TTL", "-1"},
		{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "0"},
		{"PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "verbose"},
		{"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "many"},
		{"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "yes please"},
		{"SECRETS_MANAGER_TIMEOUT_MILLIS", "1.5"},
	}
	for _, b := range bad {
		_, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", b.name, b.value))
		if err == nil || !strings.Contains(err.Error(), b.name+"=") {
			t.Errorf("%s=%q: err = %v, want it named", b.name, b.value, err)
		}
	}
	// A bad value of ours is an error even when the AWS name is fine: it is
	// never silently replaced by the alias.
	_, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_PORT", "x", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2774"))
	if err == nil || !strings.Contains(err.Error(), "STARFLEET_SECRETS_PORT=") {
		t.Errorf("bad ours, good alias: err = %v", err)
	}
}

// TestParameterStoreSettings: our variables govern parameters too; the AWS
// layer's SSM_ variables apply where ours are unset.
func TestParameterStoreSettings(t *testing.T) {
	tests := []struct {
		name             string
		env              LookupFunc
		ttl, timeout     time.Duration
		secretTTL        time.Duration
		secretFetchLimit time.Duration
	}{
		{"defaults", env("AWS_SESSION_TOKEN", "t"), defaultTTL, defaultFetchTimeout, defaultTTL, defaultFetchTimeout},
		{"SSM_PARAMETER_STORE_TTL, not capped", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TTL", "900"),
			900 * time.Second, defaultFetchTimeout, defaultTTL, defaultFetchTimeout},
		{"the two AWS TTLs apart", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TTL", "30", "SECRETS_MANAGER_TTL", "60"),
			30 * time.Second, defaultFetchTimeout, time.Minute, defaultFetchTimeout},
		{"ours wins over SSM_PARAMETER_STORE_TTL", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TTL", "30", "STARFLEET_SECRETS_TTL", "10s"),
			10 * time.Second, defaultFetchTimeout, 10 * time.Second, defaultFetchTimeout},
		{"SSM_PARAMETER_STORE_TIMEOUT_MILLIS", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "750"),
			defaultTTL, 750 * time.Millisecond, defaultTTL, defaultFetchTimeout},
		{"SSM_PARAMETER_STORE_TIMEOUT_MILLIS=0 keeps a bound", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "0"),
			defaultTTL, defaultFetchTimeout, defaultTTL, defaultFetchTimeout},
		{"ours wins over SSM_PARAMETER_STORE_TIMEOUT_MILLIS", env("AWS_SESSION_TOKEN", "t", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "750", "STARFLEET_SECRETS_FETCH_TIMEOUT", "2s"),
			defaultTTL, 2 * time.Second, defaultTTL, 2 * time.Second},
		{"CACHE_ENABLED=false turns both off", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "false", "SSM_PARAMETER_STORE_TTL", "30"),
			0, defaultFetchTimeout, 0, defaultFetchTimeout},
		{"CACHE_SIZE=0 turns both off", env("AWS_SESSION_TOKEN", "t", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "0"),
			0, defaultFetchTimeout, 0, defaultFetchTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Cache.Parameters.TTL != tt.ttl || c.Cache.Parameters.FetchTimeout != tt.timeout || c.Cache.Secrets.TTL != tt.secretTTL || c.Cache.Secrets.FetchTimeout != tt.secretFetchLimit {
				t.Errorf("parameters %v/%v, secrets %v/%v; want %v/%v, %v/%v",
					c.Cache.Parameters.TTL, c.Cache.Parameters.FetchTimeout, c.Cache.Secrets.TTL, c.Cache.Secrets.FetchTimeout, tt.ttl, tt.timeout, tt.secretTTL, tt.secretFetchLimit)
			}
		})
	}
	for _, bad := range []struct{ name, value string }{
		{"SSM_PARAMETER_STORE_TTL", "5m"}, {"SSM_PARAMETER_STORE_TTL", "-1"}, {"SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "soon"},
	} {
		if _, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", bad.name, bad.value)); err == nil || !strings.Contains(err.Error(), bad.name+"=") {
			t.Errorf("%s=%q: err = %v, want it named", bad.name, bad.value, err)
		}
	}
}

func TestPrefetchSetting(t *testing.T) {
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_PREFETCH",
		" db-credentials, /app/flag ,ssm:plain-name,secretsmanager:/odd/secret,arn:aws:ssm:us-east-1:123456789012:parameter/app/x,"+
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf,,"))
	if err != nil {
		t.Fatal(err)
	}
	want := []item.Key{
		item.SecretKey{ID: "db-credentials"},
		item.ParameterKey{Name: "/app/flag", WithDecryption: true},
		item.ParameterKey{Name: "plain-name", WithDecryption: true},
		item.SecretKey{ID: "/odd/secret"},
		item.ParameterKey{Name: "arn:aws:ssm:us-east-1:123456789012:parameter/app/x", WithDecryption: true},
		item.SecretKey{ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"},
	}
	if !reflect.DeepEqual(c.Prefetch, want) {
		t.Errorf("got  %+v\nwant %+v", c.Prefetch, want)
	}
	for _, bad := range []string{"ssm:", "a b", "x\x01y", strings.Repeat("p,", maxPrefetch+1)} {
		if _, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_PREFETCH", bad)); err == nil || !strings.Contains(err.Error(), "STARFLEET_SECRETS_PREFETCH") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestExecutionModel(t *testing.T) {
	for _, tt := range []struct {
		env                       LookupFunc
		model                     string
		neverFrozen, prefetchInit bool
	}{
		{env("AWS_SESSION_TOKEN", "t"), "", false, true}, // outside Lambda
		{env("AWS_SESSION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"), "on-demand", false, true},
		{env("AWS_SESSION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "h:1", "AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency"), "provisioned-concurrency", false, true},
		{env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "h:1", "AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"), "snap-start", false, false},
		{env("AWS_SESSION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "h:1", "AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances"), "lambda-managed-instances", true, true},
		{env("AWS_SESSION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "h:1", "AWS_LAMBDA_INITIALIZATION_TYPE", "next-big-thing"), "next-big-thing", false, true},
	} {
		c, err := LoadConfig(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		m := c.Lambda.Model
		if string(m) != tt.model || !m.AcceptsInvoke() != tt.neverFrozen || m.PrefetchesDuringInit() != tt.prefetchInit {
			t.Errorf("model %q: never frozen %v, prefetch %v; want %q %v %v", m, !m.AcceptsInvoke(), m.PrefetchesDuringInit(), tt.model, tt.neverFrozen, tt.prefetchInit)
		}
	}
}

// TestInvalidConfigurationKeepsThePlatform: the error of an invalid
// configuration must reach Lambda's init/error, so what the platform told
// survives it.
func TestInvalidConfigurationKeepsThePlatform(t *testing.T) {
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start", "STARFLEET_SECRETS_TTL", "soon"))
	if err == nil {
		t.Fatal("accepted STARFLEET_SECRETS_TTL=soon")
	}
	if !c.InLambda() || c.Lambda.RuntimeAPI != "127.0.0.1:9001" || c.Lambda.Model != extension.SnapStart {
		t.Errorf("lambda config %+v lost with the error", c.Lambda)
	}
	if c.Server.Token != "" {
		t.Error("an invalid configuration carries more than the platform's facts")
	}
}

// TestNegativeTTLIsNeverLongerThanTheTTL: a remembered "not found" must not
// outlive what a value would.
func TestNegativeTTLIsNeverLongerThanTheTTL(t *testing.T) {
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_NEGATIVE_TTL", "10s", "STARFLEET_SECRETS_TTL", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cache.rules(c.Cache.Secrets, false).Policy.NegativeTTL; got != 2*time.Second {
		t.Errorf("secrets' negative TTL %v, want the 2 s TTL", got)
	}
	c.Cache.Parameters.TTL = time.Second
	if got := c.Cache.rules(c.Cache.Parameters, false).Policy.NegativeTTL; got != time.Second {
		t.Errorf("parameters' negative TTL %v, want their 1 s TTL", got)
	}
	if _, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_NEGATIVE_TTL", "-1s")); err == nil ||
		!strings.Contains(err.Error(), "STARFLEET_SECRETS_NEGATIVE_TTL") {
		t.Errorf("a negative negative TTL: %v", err)
	}
}

func TestRolesAndPrefetchRoles(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/reader"
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_ROLES", " "+role+" ,",
		"STARFLEET_SECRETS_PREFETCH", "shared/db;role="+role+",/app/flag"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Server.Roles, []string{role}) || len(c.Prefetch) != 2 ||
		c.Prefetch[0] != (item.SecretKey{ID: "shared/db", Scope: item.Scope{RoleARN: role}}) || item.ScopeOf(c.Prefetch[1]).RoleARN != "" {
		t.Errorf("roles %v, prefetch %+v", c.Server.Roles, c.Prefetch)
	}
	if c, err := LoadConfig(env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_ROLES", "*", "STARFLEET_SECRETS_PREFETCH", "x;role="+role)); err != nil ||
		!slices.Equal(c.Server.Roles, []string{"*"}) {
		t.Errorf("* allows any role: %v %v", c.Server.Roles, err)
	}
	for _, bad := range []LookupFunc{
		env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_ROLES", "arn:aws:iam::111122223333:user/alice"),
		env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_PREFETCH", "x;role="+role),
		env("AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_ROLES", role, "STARFLEET_SECRETS_PREFETCH", "x;role=reader"),
	} {
		if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "STARFLEET_SECRETS_") {
			t.Errorf("accepted: %v", err)
		}
	}
}

// TestCacheSizeRuleNamesTheLimit: the rule, spelled out, states the limit
// the check applies.
func TestCacheSizeRuleNamesTheLimit(t *testing.T) {
	if !strings.Contains(cacheSizeRule, " to "+strconv.Itoa(maxCacheSize)+" ") {
		t.Errorf("cacheSizeRule %q does not name maxCacheSize %d", cacheSizeRule, maxCacheSize)
	}
}
