package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/server"
)

// Config is everything the environment decides. LoadConfig is the only
// place that reads it.
type Config struct {
	SecretID string
	Region   string // empty: the AWS SDK's own chain decides
	// SecretIDFrom and RegionFrom name what decided SecretID and Region:
	// a variable, a file of Starfleet's configuration, or "default".
	SecretIDFrom string
	RegionFrom   string
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
	// Model is the Lambda execution model, AWS_LAMBDA_INITIALIZATION_TYPE
	// ("on-demand" when Lambda does not say); empty outside Lambda.
	Model string
	// Metrics turns the CloudWatch EMF lines on stdout on or off.
	Metrics          bool
	MetricsNamespace string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME, the metrics' dimension.
	FunctionName string
	// ParameterTTL and ParameterFetchTimeout govern Parameter Store
	// values: ours when set, else the AWS layer's SSM_ variables.
	ParameterTTL          time.Duration
	ParameterFetchTimeout time.Duration
	// Prefetch lists the secrets and parameters warmed during INIT
	// besides the Starfleet secret.
	Prefetch []cache.Key
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

// The rules a bad value is measured against, shared by our variables and
// the AWS layer's names for the same setting.
const (
	ruleBool     = "want true or false"
	rulePort     = "want a port number from 1 to 65535"
	ruleLogLevel = "want one of debug, info, warn, error, none"
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

// fromEnv reads one concern of the configuration into c and returns every
// problem it found.
type fromEnv func(lookup LookupFunc, c *Config) []error

// LoadConfig reads and validates the whole configuration, reporting every
// problem at once. Where our variables are silent on the secret, Starfleet's
// own configuration files decide.
func LoadConfig(lookup LookupFunc) (Config, error) {
	return loadConfig(lookup, "/")
}

// loadConfig is LoadConfig with the file system's root for the default
// locations of Starfleet's configuration.
func loadConfig(lookup LookupFunc, root string) (Config, error) {
	c := defaultConfig()
	var problems []error
	for _, read := range []fromEnv{
		lambdaFromEnv, secretFromEnv, starfleetFromConfig(root), freshnessFromEnv, prefetchFromEnv, serverFromEnv,
		tokenFromEnv, loggingFromEnv, metricsFromEnv, awsLayerFromEnv,
	} {
		problems = append(problems, read(lookup, &c)...)
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

func defaultConfig() Config {
	return Config{
		SecretID:              "Starfleet",
		SecretIDFrom:          "default",
		VersionStage:          "AWSCURRENT",
		TTL:                   defaultTTL,
		MaxStale:              defaultMaxStale,
		FetchTimeout:          defaultFetchTimeout,
		Port:                  defaultPort,
		LogLevel:              slog.LevelInfo,
		CacheSize:             defaultCacheSize,
		Metrics:               true,
		MetricsNamespace:      "StarfleetSecrets",
		ParameterTTL:          defaultTTL,
		ParameterFetchTimeout: defaultFetchTimeout,
	}
}

// Lambda's execution models, as AWS_LAMBDA_INITIALIZATION_TYPE names them.
const (
	modelOnDemand         = "on-demand"
	modelProvisioned      = "provisioned-concurrency"
	modelSnapStart        = "snap-start"
	modelManagedInstances = "lambda-managed-instances"
)

// lambdaFromEnv reads what the Lambda platform sets. A model this version
// does not know is kept as given and run as on-demand, the model every
// other is a variation of; it is no configuration error.
func lambdaFromEnv(lookup LookupFunc, c *Config) []error {
	c.RuntimeAPI, _, _ = lookup.first("AWS_LAMBDA_RUNTIME_API")
	c.FunctionName, _, _ = lookup.first("AWS_LAMBDA_FUNCTION_NAME")
	if c.RuntimeAPI != "" {
		c.Model = modelOnDemand
		if v, _, ok := lookup.first("AWS_LAMBDA_INITIALIZATION_TYPE"); ok {
			c.Model = v
		}
	}
	return nil
}

// neverFrozen reports whether the model runs the environment without
// freezing it between invocations.
func (c Config) neverFrozen() bool { return c.Model == modelManagedInstances }

// prefetchesDuringInit reports whether the model may fetch secrets during
// INIT: not under SnapStart, whose INIT memory is snapshotted and restored
// into many environments later, secrets and all.
func (c Config) prefetchesDuringInit() bool { return c.Model != modelSnapStart }

// secretFromEnv reads which secret to serve and where it comes from.
func secretFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first("STARFLEET_SECRET_ID"); ok {
		if !validSecretID(v) {
			problems = append(problems, invalid(name, v, secretIDRule))
		} else {
			c.SecretID, c.SecretIDFrom = v, name
		}
	}
	c.Region, c.RegionFrom, _ = lookup.first("STARFLEET_SECRET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
	if v, _, ok := lookup.first("STARFLEET_SECRETS_VERSION_STAGE"); ok {
		c.VersionStage = v
	}
	c.File, _, _ = lookup.first("STARFLEET_SECRETS_FILE")
	return problems
}

// freshnessFromEnv reads how long values live and how long a fetch may take.
func freshnessFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first("STARFLEET_SECRETS_TTL"); ok {
		if d, err := parseDuration(v); err != nil {
			problems = append(problems, invalid(name, v, "want a duration such as 300s or 5m, or whole seconds, at least 0"))
		} else {
			c.TTL, c.ParameterTTL = d, d
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_MAX_STALE"); ok {
		if d, err := parseDuration(v); err != nil {
			problems = append(problems, invalid(name, v, "want a duration such as 15m, or whole seconds, at least 0"))
		} else {
			c.MaxStale = d
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_FETCH_TIMEOUT"); ok {
		if d, err := parseDuration(v); err != nil || d == 0 {
			problems = append(problems, invalid(name, v, "want a positive duration such as 5s"))
		} else {
			c.FetchTimeout, c.ParameterFetchTimeout = d, d
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_CACHE_SIZE"); ok {
		if n, ok := parseCacheSize(v); !ok {
			problems = append(problems, invalid(name, v, cacheSizeRule))
		} else {
			c.CacheSize = n
		}
	}
	return problems
}

// maxPrefetch bounds STARFLEET_SECRETS_PREFETCH: everything in it is fetched
// during every cold start.
const maxPrefetch = 100

// prefetchFromEnv reads the secrets and parameters to warm during INIT.
func prefetchFromEnv(lookup LookupFunc, c *Config) []error {
	v, name, ok := lookup.first("STARFLEET_SECRETS_PREFETCH")
	if !ok {
		return nil
	}
	items := strings.Split(v, ",")
	if len(items) > maxPrefetch {
		return []error{fmt.Errorf("%s: %d entries; at most %d are prefetched", name, len(items), maxPrefetch)}
	}
	var problems []error
	for _, item := range items {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		key, err := parsePrefetchItem(item)
		if err != nil {
			// The entry, not the whole list: each bad entry is named once.
			problems = append(problems, invalid(name, item, err.Error()))
			continue
		}
		c.Prefetch = append(c.Prefetch, key)
	}
	return problems
}

// parsePrefetchItem reads one STARFLEET_SECRETS_PREFETCH entry: "ssm:NAME",
// a name starting with "/" or a Parameter Store ARN is a parameter (read
// with decryption, as clients of the AWS layer ask); "secretsmanager:ID" or
// anything else is a secret id.
func parsePrefetchItem(item string) (cache.Key, error) {
	var key cache.Key
	switch {
	case strings.HasPrefix(item, "ssm:"):
		key = cache.Key{Parameter: strings.TrimPrefix(item, "ssm:"), WithDecryption: true}
	case strings.HasPrefix(item, "/"), strings.HasPrefix(item, "arn:") && strings.Contains(item, ":ssm:"):
		key = cache.Key{Parameter: item, WithDecryption: true}
	default:
		key = cache.Key{SecretID: strings.TrimPrefix(item, "secretsmanager:")}
	}
	name := key.Parameter + key.SecretID
	switch {
	case name == "":
		return cache.Key{}, errors.New("empty name")
	case len(name) > 2048:
		return cache.Key{}, errors.New("longer than 2048 bytes")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return cache.Key{}, errors.New("contains a space or control character")
	}
	return key, nil
}

// serverFromEnv reads where and to whom the HTTP API answers.
func serverFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first("STARFLEET_SECRETS_PORT"); ok {
		if n, ok := parsePort(v); !ok {
			problems = append(problems, invalid(name, v, rulePort))
		} else {
			c.Port = n
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_MAX_CONNECTIONS"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxConnections {
			problems = append(problems, invalid(name, v, fmt.Sprintf("want a whole number of connections from 1 to %d", maxConnections)))
		} else {
			c.MaxConnections = n
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_ALLOW"); ok {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if err := server.ValidateName(s); err != nil {
				problems = append(problems, invalid(name, v, fmt.Sprintf("slice name %q is %v", s, err)))
				continue
			}
			c.Allow = append(c.Allow, s)
		}
	}
	return problems
}

// tokenFromEnv reads the token callers must present. The token is never
// quoted in an error.
func tokenFromEnv(lookup LookupFunc, c *Config) []error {
	v, _, ok := lookup.first("STARFLEET_SECRETS_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if !ok {
		return []error{errors.New("no token: set STARFLEET_SECRETS_TOKEN (or run where AWS_SESSION_TOKEN, AWS_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN is set); secrets are never served unauthenticated")}
	}
	c.Token = v
	return nil
}

// loggingFromEnv reads the log level.
func loggingFromEnv(lookup LookupFunc, c *Config) []error {
	v, name, ok := lookup.first("STARFLEET_SECRETS_LOG_LEVEL")
	if !ok {
		return nil
	}
	level, off, err := parseLogLevel(v)
	if err != nil {
		return []error{invalid(name, v, ruleLogLevel)}
	}
	c.LogLevel, c.LogOff = level, off
	return nil
}

// metricsFromEnv reads whether and under which namespace metrics are written.
func metricsFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first("STARFLEET_SECRETS_METRICS"); ok {
		if on, err := strconv.ParseBool(v); err != nil {
			problems = append(problems, invalid(name, v, ruleBool))
		} else {
			c.Metrics = on
		}
	}
	if v, name, ok := lookup.first("STARFLEET_SECRETS_METRICS_NAMESPACE"); ok {
		if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
			problems = append(problems, invalid(name, v, "want a CloudWatch namespace: at most 255 characters, no control characters"))
		} else {
			c.MetricsNamespace = v
		}
	}
	return problems
}

// awsLayerFromEnv honours the AWS Parameters and Secrets Lambda Extension's
// variables, each only where our own variable for the same setting is
// unset, so that a function switching layers keeps its settings. Not
// PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: the AWS layer's variable
// bounds its outbound connections, not its callers.
func awsLayerFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	// where reads the AWS layer's variable theirs when ours is unset.
	where := func(ours, theirs string) (string, bool) {
		if lookup.isSet(ours) {
			return "", false
		}
		v, _, ok := lookup.first(theirs)
		return v, ok
	}
	ourTTL := lookup.isSet("STARFLEET_SECRETS_TTL")
	if v, ok := where("STARFLEET_SECRETS_TTL", "SECRETS_MANAGER_TTL"); ok {
		// Whole seconds, as on the AWS layer; unlike it, values above 300
		// are honoured, not clamped.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			problems = append(problems, invalid("SECRETS_MANAGER_TTL", v, "want whole seconds, at least 0"))
		} else {
			c.TTL = time.Duration(n) * time.Second
		}
	}
	if v, ok := where("STARFLEET_SECRETS_TTL", "SSM_PARAMETER_STORE_TTL"); ok {
		// Whole seconds, as on the AWS layer, and not clamped either.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			problems = append(problems, invalid("SSM_PARAMETER_STORE_TTL", v, "want whole seconds, at least 0"))
		} else {
			c.ParameterTTL = time.Duration(n) * time.Second
		}
	}
	// The AWS layer turns caching off with CACHE_ENABLED=false or
	// CACHE_SIZE=0; both mean TTL 0 here, unless our own TTL is set.
	if v, _, ok := lookup.first("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"); ok {
		if enabled, err := strconv.ParseBool(v); err != nil {
			problems = append(problems, invalid("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", v, ruleBool))
		} else if !enabled && !ourTTL {
			c.TTL, c.ParameterTTL = 0, 0
		}
	}
	if v, ok := where("STARFLEET_SECRETS_CACHE_SIZE", "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case err == nil && n == 0:
			if !ourTTL {
				c.TTL, c.ParameterTTL = 0, 0
			}
		case err == nil && n >= 1 && n <= maxCacheSize:
			c.CacheSize = n
		default:
			problems = append(problems, invalid("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", v, cacheSizeRule))
		}
	}
	if v, ok := where("STARFLEET_SECRETS_FETCH_TIMEOUT", "SECRETS_MANAGER_TIMEOUT_MILLIS"); ok {
		// For the AWS layer 0 means no timeout; a fetch is always bounded
		// here, so 0 keeps our default.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			problems = append(problems, invalid("SECRETS_MANAGER_TIMEOUT_MILLIS", v, "want whole milliseconds, at least 0"))
		} else if n > 0 {
			c.FetchTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if v, ok := where("STARFLEET_SECRETS_FETCH_TIMEOUT", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			problems = append(problems, invalid("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", v, "want whole milliseconds, at least 0"))
		} else if n > 0 {
			c.ParameterFetchTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if v, ok := where("STARFLEET_SECRETS_PORT", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"); ok {
		if n, ok := parsePort(v); !ok {
			problems = append(problems, invalid("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", v, rulePort))
		} else {
			c.Port = n
		}
	}
	if v, ok := where("STARFLEET_SECRETS_LOG_LEVEL", "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL"); ok {
		if level, off, err := parseLogLevel(v); err != nil {
			problems = append(problems, invalid("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", v, ruleLogLevel))
		} else {
			c.LogLevel, c.LogOff = level, off
		}
	}
	return problems
}

const secretIDRule = "want a secret name or ARN: at most 2048 bytes, no control characters"

func validSecretID(s string) bool {
	return len(s) <= 2048 && !strings.ContainsFunc(s, unicode.IsControl)
}

var cacheSizeRule = fmt.Sprintf("want a whole number of secrets from 1 to %d (STARFLEET_SECRETS_TTL=0 turns caching off)", maxCacheSize)

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
