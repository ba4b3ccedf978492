package main

// FuzzLoadConfig gives LoadConfig arbitrary values for any four of its
// variables and a token. Run it with
//
//	go test -run '^$' -fuzz '^FuzzLoadConfig$' -fuzztime 30s ./cmd/starfleet-secrets

import (
	"strings"
	"testing"

	"github.com/starfleet/starfleet-secrets/server"
)

// configVars are the variables LoadConfig reads, besides the token ones.
var configVars = []string{
	"STARFLEET_SECRET_ID", "STARFLEET_SECRET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "STARFLEET_SECRETS_VERSION_STAGE",
	"STARFLEET_SECRETS_FILE", "STARFLEET_SECRETS_TTL", "SECRETS_MANAGER_TTL", "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
	"STARFLEET_SECRETS_MAX_STALE", "STARFLEET_SECRETS_FETCH_TIMEOUT", "SECRETS_MANAGER_TIMEOUT_MILLIS", "STARFLEET_SECRETS_PORT",
	"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "STARFLEET_SECRETS_CACHE_SIZE", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE",
	"STARFLEET_SECRETS_LOG_LEVEL", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "STARFLEET_SECRETS_ALLOW", "STARFLEET_SECRETS_MAX_CONNECTIONS",
	"STARFLEET_SECRETS_METRICS", "STARFLEET_SECRETS_METRICS_NAMESPACE", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME",
	"SSM_PARAMETER_STORE_TTL", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "STARFLEET_SECRETS_PREFETCH",
}

var tokenVars = []string{"STARFLEET_SECRETS_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

const placeholderToken = "placeholder-token-0c1d2e3f4a5b"

func FuzzLoadConfig(f *testing.F) {
	f.Add("300s", "15m", "5s", "2773", uint32(0x06090a0c), "session-token-Xy81", uint8(2))
	f.Add("-1s", "soon", "0", "65536", uint32(0x06090a0c), "tok", uint8(0))
	f.Add("debug", "a, b ,,\x01", "7", "0", uint32(0x10121314), "  padded-token  ", uint8(3))
	f.Add("9223372036854775807", "1e9", "99999999999999999999s", "x", uint32(0x07080b0d), "tok-in-value", uint8(1))
	f.Add("tok-in-value", "tok-in-value", "", "", uint32(0x06000000), "tok-in-value", uint8(2))
	f.Add(strings.Repeat("a", 3000), "\xff\xfe", "off", "true", uint32(0x00140e15), "t", uint8(0))
	f.Fuzz(func(t *testing.T, a, b, c, d string, sel uint32, token string, tokenVar uint8) {
		build := func(tok string) LookupFunc {
			m := map[string]string{}
			for i, v := range []string{a, b, c, d} {
				m[configVars[int(sel>>(8*i)&0xff)%len(configVars)]] = v
			}
			m[tokenVars[int(tokenVar)%len(tokenVars)]] = tok
			return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
		}
		cfg, err := LoadConfig(build(token))
		trimmed := strings.TrimSpace(token)
		if err == nil {
			switch {
			case cfg.Cache.Secrets.TTL < 0, cfg.Cache.MaxStale < 0, cfg.Cache.Secrets.FetchTimeout <= 0, cfg.Cache.Parameters.TTL < 0, cfg.Cache.Parameters.FetchTimeout <= 0:
				t.Fatalf("accepted durations ttl=%v stale=%v fetch=%v parameters %v/%v",
					cfg.Cache.Secrets.TTL, cfg.Cache.MaxStale, cfg.Cache.Secrets.FetchTimeout, cfg.Cache.Parameters.TTL, cfg.Cache.Parameters.FetchTimeout)
			case len(cfg.Prefetch) > maxPrefetch:
				t.Fatalf("accepted %d prefetch entries", len(cfg.Prefetch))
			case cfg.Server.Port < 1 || cfg.Server.Port > 65535:
				t.Fatalf("accepted port %d", cfg.Server.Port)
			case cfg.Cache.Size < 1 || cfg.Cache.Size > maxCacheSize:
				t.Fatalf("accepted cache size %d", cfg.Cache.Size)
			case cfg.Server.MaxConnections < 0 || cfg.Server.MaxConnections > maxConnections:
				t.Fatalf("accepted max connections %d", cfg.Server.MaxConnections)
			case cfg.Server.Token == "" || cfg.Server.Token != trimmed:
				t.Fatalf("token %q from %q", cfg.Server.Token, token)
			}
			for _, s := range cfg.Server.Allow {
				if server.ValidateName(s) != nil {
					t.Fatalf("accepted slice name %q", s)
				}
			}
			return
		}
		if trimmed == "" {
			return
		}
		// The token's value never shapes the error: with another token in
		// its place the error is the same text. So an error contains the
		// token only where another variable's value or fixed text does.
		_, other := LoadConfig(build(placeholderToken))
		if other == nil || other.Error() != err.Error() {
			t.Fatalf("the error depends on the token's value:\n%v\n%v", err, other)
		}
	})
}
