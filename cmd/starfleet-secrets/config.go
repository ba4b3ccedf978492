package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/starfleet/starfleet-secrets/server"
)

// Config is everything the environment decides. LoadConfig is the only
// place that reads it.
type Config struct {
	SecretID     string
	Region       string // empty: the AWS SDK's own chain decides
	VersionStage string
	TTL          time.Duration
	MaxStale     time.Duration
	FetchTimeout time.Duration
	Port         int
	Allow        []string
	File         string
	LogLevel     slog.Level
	LogOff       bool
	Token        string
	CacheSize    int
	// MaxConnections caps concurrent inbound connections; 0 means
	// server.DefaultMaxConnections.
	MaxConnections int
	// RuntimeAPI is AWS_LAMBDA_RUNTIME_API; empty outside Lambda.
	RuntimeAPI string
	// Metrics turns the CloudWatch EMF lines on stdout on or off.
	Metrics          bool
	MetricsNamespace string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME, the metrics' dimension.
	FunctionName string
}

// InLambda reports whether the process runs as a Lambda extension.
func (c Config) InLambda() bool { return c.RuntimeAPI != "" }

const (
	defaultTTL          = 300 * time.Second
	defaultMaxStale     = 15 * time.Minute
	defaultFetchTimeout = 5 * time.Second
	defaultPort         = 2773
	defaultCacheSize    = 1000
	maxCacheSize        = 100_000
	maxConnections      = 100_000
)

// LookupFunc reads one environment variable, like os.LookupEnv.
type LookupFunc func(string) (string, bool)

// first returns the value of the first of names that is set and not blank,
// and that name, so errors can say which variable was wrong.
func (lookup LookupFunc) first(names ...string) (value, name string, ok bool) {
	for _, n := range names {
		if v, set := lookup(n); set && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), n, true
		}
	}
	return "", "", false
}

// LoadConfig reads and validates the whole configuration, reporting every
// problem at once. Where the AWS Parameters and Secrets Lambda Extension has
// an equivalent variable, it is honoured when ours is unset.
func LoadConfig(lookup LookupFunc) (Config, error) {
	var problems []error
	bad := func(name, value, rule string) {
		problems = append(problems, fmt.Errorf("%s=%q: %s", name, value, rule))
	}
	c := Config{
		SecretID:         "Starfleet",
		VersionStage:     "AWSCURRENT",
		TTL:              defaultTTL,
		MaxStale:         defaultMaxStale,
		FetchTimeout:     defaultFetchTimeout,
		Port:             defaultPort,
		LogLevel:         slog.LevelInfo,
		CacheSize:        defaultCacheSize,
		Metrics:          true,
		MetricsNamespace: "StarfleetSecrets",
	}
	c.RuntimeAPI, _, _ = lookup.first("AWS_LAMBDA_RUNTIME_API")
	c.FunctionName, _, _ = lookup.first("AWS_LAMBDA_FUNCTION_NAME")
	if v, name, ok := lookup.first("STARFLEET_SECRETS_METRICS"); ok {
		if on, err := strconv.ParseBool(v); err != nil {
			bad(name, v, "want true or false")
		} else {
			c.Metrics = on
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_METRICS_NAMESPACE"); ok {
		if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
			bad(name, v, "want a CloudWatch namespace: at most 255 characters, no control characters")
		} else {
			c.MetricsNamespace = v
		}
	}
	if v, _, ok := lookup.first("STARFLEET_SECRET_ID"); ok {
		c.SecretID = v
	}
	c.Region, _, _ = lookup.first("STARFLEET_SECRET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
	if v, _, ok := lookup.first("STARFLEET_SECRETS_VERSION_STAGE"); ok {
		c.VersionStage = v
	}
	c.File, _, _ = lookup.first("STARFLEET_SECRETS_FILE")

	if v, name, ok := lookup.first("STARFLEET_SECRETS_TTL"); ok {
		if d, err := parseDuration(v); err != nil {
			bad(name, v, "want a duration such as 300s or 5m, or whole seconds, at least 0")
		} else {
			c.TTL = d
		}
	} else if v, name, ok := lookup.first("SECRETS_MANAGER_TTL"); ok {
		// The AWS layer's variable: whole seconds. Unlike the AWS layer,
		// values above 300 are honoured, not clamped.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			bad(name, v, "want whole seconds, at least 0")
		} else {
			c.TTL = time.Duration(n) * time.Second
		}
	}
	// The AWS layer turns caching off with CACHE_ENABLED=false or
	// CACHE_SIZE=0; both mean TTL 0 here, unless our own TTL is set.
	_, _, ourTTL := lookup.first("STARFLEET_SECRETS_TTL")
	if v, name, ok := lookup.first("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"); ok {
		if enabled, err := strconv.ParseBool(v); err != nil {
			bad(name, v, "want true or false")
		} else if !enabled && !ourTTL {
			c.TTL = 0
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_MAX_STALE"); ok {
		if d, err := parseDuration(v); err != nil {
			bad(name, v, "want a duration such as 15m, or whole seconds, at least 0")
		} else {
			c.MaxStale = d
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_FETCH_TIMEOUT"); ok {
		if d, err := parseDuration(v); err != nil || d == 0 {
			bad(name, v, "want a positive duration such as 5s")
		} else {
			c.FetchTimeout = d
		}
	} else if v, name, ok := lookup.first("SECRETS_MANAGER_TIMEOUT_MILLIS"); ok {
		// For the AWS layer 0 means no timeout; we always bound a fetch, so
		// 0 keeps our default.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			bad(name, v, "want whole milliseconds, at least 0")
		} else if n > 0 {
			c.FetchTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_PORT", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 {
			bad(name, v, "want a port number from 1 to 65535")
		} else {
			c.Port = n
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_CACHE_SIZE", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case err == nil && n == 0 && name == "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE":
			if !ourTTL {
				c.TTL = 0
			}
		case err != nil || n < 1 || n > maxCacheSize:
			bad(name, v, fmt.Sprintf("want a whole number of secrets from 1 to %d (STARFLEET_SECRETS_TTL=0 turns caching off)", maxCacheSize))
		default:
			c.CacheSize = n
		}
	}
	// Not PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: the AWS layer's
	// variable bounds its outbound connections, not its callers.
	if v, name, ok := lookup.first("STARFLEET_SECRETS_MAX_CONNECTIONS"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxConnections {
			bad(name, v, fmt.Sprintf("want a whole number of connections from 1 to %d", maxConnections))
		} else {
			c.MaxConnections = n
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_LOG_LEVEL", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL"); ok {
		if level, off, err := parseLogLevel(v); err != nil {
			bad(name, v, "want one of debug, info, warn, error, none")
		} else {
			c.LogLevel, c.LogOff = level, off
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_ALLOW"); ok {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if err := server.ValidateName(s); err != nil {
				bad(name, v, fmt.Sprintf("slice name %q is %v", s, err))
				continue
			}
			c.Allow = append(c.Allow, s)
		}
	}
	// The token is read but never quoted in an error.
	if v, _, ok := lookup.first("STARFLEET_SECRETS_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"); ok {
		c.Token = v
	} else {
		problems = append(problems, errors.New("no token: set STARFLEET_SECRETS_TOKEN (or run where AWS_SESSION_TOKEN, AWS_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN is set); secrets are never served unauthenticated"))
	}
	if len(c.SecretID) > 2048 || strings.ContainsFunc(c.SecretID, unicode.IsControl) {
		bad("STARFLEET_SECRET_ID", c.SecretID, "want a secret name or ARN: at most 2048 bytes, no control characters")
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

// parseDuration accepts a Go duration ("90s", "5m") or whole seconds ("90").
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(100*365*24*time.Hour/time.Second) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return d, nil
}

func parseLogLevel(s string) (level slog.Level, off bool, err error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, false, nil
	case "info":
		return slog.LevelInfo, false, nil
	case "warn", "warning":
		return slog.LevelWarn, false, nil
	case "error":
		return slog.LevelError, false, nil
	case "none", "off":
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("unknown log level")
}
