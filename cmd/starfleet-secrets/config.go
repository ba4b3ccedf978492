package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server"
)

// Config is everything the environment decides, one struct per concern.
// LoadConfig is the only place that reads it.
type Config struct {
	Lambda  LambdaConfig
	Secret  SecretConfig
	Layout  LayoutConfig
	Cache   CacheConfig
	Server  ServerConfig
	Log     LogConfig
	Metrics MetricsConfig
	// Prefetch lists the secrets and parameters warmed during INIT
	// besides the Starfleet secret.
	Prefetch []item.Key
}

// LambdaConfig is what the Lambda platform tells the extension.
type LambdaConfig struct {
	// RuntimeAPI is AWS_LAMBDA_RUNTIME_API; empty outside Lambda.
	RuntimeAPI string
	// Model is the execution model (on-demand when Lambda does not say);
	// empty outside Lambda.
	Model extension.Model
	// FunctionName is the metrics' dimension.
	FunctionName string
}

// SecretConfig is which secret is the Starfleet secret, and where it is.
type SecretConfig struct {
	ID     string
	Region string // empty: the AWS SDK's own chain decides
	// IDFrom and RegionFrom name what decided ID and Region: a variable,
	// a file of Starfleet's configuration, or "default".
	IDFrom, RegionFrom string
	VersionStage       string
	// File, when set, is served instead of Secrets Manager.
	File string
}

// CacheConfig is how long values stay fresh and how many are kept.
type CacheConfig struct {
	// Secrets and Parameters govern each service's values: the AWS layer
	// configures them apart.
	Secrets, Parameters Freshness
	MaxStale            time.Duration
	// NegativeTTL is how long "not found" and "access denied" are
	// answered from memory; never longer than a service's TTL.
	NegativeTTL time.Duration
	Size        int
}

// rules are the cache's rules for one service's values: its freshness
// policy and the bound on one read, both from f.
func (c CacheConfig) rules(f Freshness, refreshAhead bool) cache.Rules {
	limits := cache.Limits{TTL: f.TTL, MaxStale: c.MaxStale, NegativeTTL: min(c.NegativeTTL, f.TTL), FetchTimeout: f.FetchTimeout}
	return cache.Rules{Policy: cache.NewPolicy(limits, refreshAhead), FetchTimeout: f.FetchTimeout}
}

// Freshness is one service's TTL and the bound on one read of it.
type Freshness struct {
	TTL, FetchTimeout time.Duration
}

// ServerConfig is where and to whom the HTTP API answers.
type ServerConfig struct {
	Port int
	// MaxConnections caps concurrent inbound connections; 0 means
	// loopback.DefaultMaxConnections.
	MaxConnections int
	Allow          []string
	Token          string
	// Roles are the role ARNs a request or a prefetch entry may name; "*"
	// allows any, none allows none.
	Roles []string
}

// LogConfig is how much the extension logs.
type LogConfig struct {
	Level slog.Level
	Off   bool
}

// MetricsConfig is whether, and under which namespace, CloudWatch EMF
// lines are written on stdout.
type MetricsConfig struct {
	Enabled   bool
	Namespace string
}

// InLambda reports whether the process runs as a Lambda extension.
func (c Config) InLambda() bool { return c.Lambda.RuntimeAPI != "" }

// The variables, ours and the platform's.
const (
	envRuntimeAPI     = "AWS_LAMBDA_RUNTIME_API"
	envFunctionName   = "AWS_LAMBDA_FUNCTION_NAME"
	envInitType       = "AWS_LAMBDA_INITIALIZATION_TYPE"
	envSecretID       = "STARFLEET_SECRET_ID"
	envSecretRegion   = "STARFLEET_SECRET_REGION"
	envStarfleetConf  = "STARFLEET_CONFIG"
	envVersionStage   = "STARFLEET_SECRETS_VERSION_STAGE"
	envFile           = "STARFLEET_SECRETS_FILE"
	envTTL            = "STARFLEET_SECRETS_TTL"
	envMaxStale       = "STARFLEET_SECRETS_MAX_STALE"
	envNegativeTTL    = "STARFLEET_SECRETS_NEGATIVE_TTL"
	envFetchTimeout   = "STARFLEET_SECRETS_FETCH_TIMEOUT"
	envCacheSize      = "STARFLEET_SECRETS_CACHE_SIZE"
	envPrefetch       = "STARFLEET_SECRETS_PREFETCH"
	envPort           = "STARFLEET_SECRETS_PORT"
	envMaxConnections = "STARFLEET_SECRETS_MAX_CONNECTIONS"
	envAllow          = "STARFLEET_SECRETS_ALLOW"
	envRoles          = "STARFLEET_SECRETS_ROLES"
	envToken          = "STARFLEET_SECRETS_TOKEN"
	envLogLevel       = "STARFLEET_SECRETS_LOG_LEVEL"
	envMetrics        = "STARFLEET_SECRETS_METRICS"
	envMetricsNS      = "STARFLEET_SECRETS_METRICS_NAMESPACE"
)

// tokenVariables are where the token comes from, first set first.
var tokenVariables = []string{envToken, "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// settingNames are the variables error answers point their readers to.
var settingNames = server.Settings{
	SecretID: envSecretID, SecretRegion: envSecretRegion,
	FetchTimeout: envFetchTimeout,
	Allow:        envAllow, File: envFile, Token: envToken, Roles: envRoles,
	Slices: envSlices,
}

const (
	defaultTTL          = 300 * time.Second
	defaultMaxStale     = 15 * time.Minute
	defaultNegativeTTL  = 5 * time.Second
	defaultFetchTimeout = 5 * time.Second
	defaultPort         = 2773
	defaultCacheSize    = 1000
	maxCacheSize        = 100_000
	maxConnections      = 100_000
)

// The rules a bad value is measured against, shared by our variables and
// the AWS layer's names for the same setting.
const (
	ruleBool         = "want true or false"
	rulePort         = "want a port number from 1 to 65535"
	ruleLogLevel     = "want one of debug, info, warn, error, none"
	ruleSeconds      = "want whole seconds, at least 0"
	ruleMilliseconds = "want whole milliseconds, at least 0"
	secretIDRule     = "want a secret name or ARN: at most 2048 bytes, no control characters"
)

// cacheSizeRule spells maxCacheSize out: formatting it at package
// initialisation would be fmt's first use, on every cold start, before
// registering.
const cacheSizeRule = "want a whole number of secrets from 1 to 100000 (" + envTTL + "=0 turns caching off)"

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

// isSet reports whether name is set and not blank.
func (lookup LookupFunc) isSet(name string) bool {
	_, _, ok := lookup.first(name)
	return ok
}

// invalid is the one shape of a configuration problem: the variable, the
// value as given, and the rule it breaks.
func invalid(name, value, rule string) error {
	return fmt.Errorf("%s=%q: %s", name, value, rule)
}

// LoadConfig reads and validates the whole configuration, reporting every
// problem at once. Where our variables are silent on the secret, Starfleet's
// own configuration files decide; where they are silent on a setting the
// AWS Parameters and Secrets Lambda Extension has, its variable does. An
// invalid configuration still carries what the Lambda platform told, so
// that the error can be reported to it.
func LoadConfig(lookup LookupFunc) (Config, error) {
	return loadConfig(lookup, "/")
}

// loadConfig is LoadConfig with the file system's root for the default
// locations of Starfleet's configuration. Each concern's reader returns
// its own part and its own problems; the AWS layer's variables are read
// first, once, and the readers they stand in for take what they say;
// validate checks what spans concerns.
func loadConfig(lookup LookupFunc, root string) (Config, error) {
	var problems []error
	add := func(errs []error) { problems = append(problems, errs...) }
	layer, layerProblems := awsLayerFromEnv(lookup)
	c := Config{Lambda: lambdaFromEnv(lookup)}
	var errs []error
	c.Secret, errs = secretFromEnv(lookup, root)
	add(errs)
	c.Layout, errs = layoutFromEnv(lookup)
	add(errs)
	c.Cache, errs = cacheFromEnv(lookup, layer)
	add(errs)
	c.Prefetch, errs = prefetchFromEnv(lookup)
	add(errs)
	c.Server, errs = serverFromEnv(lookup, layer)
	add(errs)
	c.Log, errs = logFromEnv(lookup, layer)
	add(errs)
	c.Metrics, errs = metricsFromEnv(lookup)
	add(errs)
	add(layerProblems)
	add(validate(c))
	if len(problems) > 0 {
		return Config{Lambda: c.Lambda}, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

// validate checks what no one concern's reader can: every prefetch
// entry's role is one the server allows, and the split layout's slices.
func validate(c Config) []error {
	problems := validateLayout(c)
	for _, key := range c.Prefetch {
		role := item.ScopeOf(key).RoleARN
		if role != "" && !slices.Contains(c.Server.Roles, "*") && !slices.Contains(c.Server.Roles, role) {
			problems = append(problems, fmt.Errorf("%s: %s names role %s, which %s does not list", envPrefetch, key, role, envRoles))
		}
	}
	return problems
}

// lambdaFromEnv reads what the Lambda platform sets. A model this version
// does not know is kept as given (and runs as on-demand); it is no
// configuration error.
func lambdaFromEnv(lookup LookupFunc) LambdaConfig {
	var l LambdaConfig
	l.RuntimeAPI, _, _ = lookup.first(envRuntimeAPI)
	l.FunctionName, _, _ = lookup.first(envFunctionName)
	if l.RuntimeAPI != "" {
		l.Model = extension.OnDemand
		if v, _, ok := lookup.first(envInitType); ok {
			l.Model = extension.Model(v)
		}
	}
	return l
}

// durationFromEnv reads a duration variable; rule says what it wants.
// ok is false when the variable is unset or broke the rule.
func durationFromEnv(lookup LookupFunc, name, rule string, positive bool) (d time.Duration, ok bool, problem error) {
	v, _, set := lookup.first(name)
	if !set {
		return 0, false, nil
	}
	d, err := parseDuration(v)
	if err != nil || positive && d == 0 {
		return 0, false, invalid(name, v, rule)
	}
	return d, true, nil
}

func validSecretID(s string) bool {
	return len(s) <= 2048 && !strings.ContainsFunc(s, unicode.IsControl)
}

func parseCacheSize(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= maxCacheSize
}

func parsePort(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 65535
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
