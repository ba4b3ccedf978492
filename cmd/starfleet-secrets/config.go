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
	"github.com/starfleet/starfleet-secrets/server"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// Config is everything the environment decides, one struct per concern.
// LoadConfig is the only place that reads it.
type Config struct {
	Lambda  LambdaConfig
	Secret  SecretConfig
	Cache   CacheConfig
	Server  ServerConfig
	Log     LogConfig
	Metrics MetricsConfig
	// Prefetch lists the secrets and parameters warmed during INIT
	// besides the Starfleet secret.
	Prefetch []upstream.Key
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

// limits are the cache's limits for one service's values.
func (c CacheConfig) limits(f Freshness) cache.Limits {
	return cache.Limits{TTL: f.TTL, MaxStale: c.MaxStale, NegativeTTL: min(c.NegativeTTL, f.TTL), FetchTimeout: f.FetchTimeout}
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
	FetchTimeout: envFetchTimeout, ParameterFetchTimeout: envFetchTimeout,
	Allow: envAllow, File: envFile, Token: envToken, Roles: envRoles,
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

// fromEnv reads one concern of the configuration into c and returns every
// problem it found.
type fromEnv func(lookup LookupFunc, c *Config) []error

// LoadConfig reads and validates the whole configuration, reporting every
// problem at once. Where our variables are silent on the secret, Starfleet's
// own configuration files decide. An invalid configuration still carries
// what the Lambda platform told, so that the error can be reported to it.
func LoadConfig(lookup LookupFunc) (Config, error) {
	return loadConfig(lookup, "/")
}

// loadConfig is LoadConfig with the file system's root for the default
// locations of Starfleet's configuration.
func loadConfig(lookup LookupFunc, root string) (Config, error) {
	c := defaultConfig()
	var problems []error
	for _, read := range []fromEnv{
		lambdaFromEnv, secretFromEnv, starfleetFromConfig(root), cacheFromEnv, prefetchFromEnv, serverFromEnv, rolesFromEnv,
		tokenFromEnv, logFromEnv, metricsFromEnv, awsLayerFromEnv,
	} {
		problems = append(problems, read(lookup, &c)...)
	}
	if len(problems) > 0 {
		return Config{Lambda: c.Lambda}, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

func defaultConfig() Config {
	fresh := Freshness{TTL: defaultTTL, FetchTimeout: defaultFetchTimeout}
	return Config{
		Secret: SecretConfig{ID: "Starfleet", IDFrom: "default", VersionStage: upstream.StageCurrent},
		Cache: CacheConfig{Secrets: fresh, Parameters: fresh, MaxStale: defaultMaxStale, NegativeTTL: defaultNegativeTTL,
			Size: defaultCacheSize},
		Server:  ServerConfig{Port: defaultPort},
		Log:     LogConfig{Level: slog.LevelInfo},
		Metrics: MetricsConfig{Enabled: true, Namespace: "StarfleetSecrets"},
	}
}

// lambdaFromEnv reads what the Lambda platform sets. A model this version
// does not know is kept as given (and runs as on-demand); it is no
// configuration error.
func lambdaFromEnv(lookup LookupFunc, c *Config) []error {
	c.Lambda.RuntimeAPI, _, _ = lookup.first(envRuntimeAPI)
	c.Lambda.FunctionName, _, _ = lookup.first(envFunctionName)
	if c.Lambda.RuntimeAPI != "" {
		c.Lambda.Model = extension.OnDemand
		if v, _, ok := lookup.first(envInitType); ok {
			c.Lambda.Model = extension.Model(v)
		}
	}
	return nil
}

// secretFromEnv reads which secret to serve and where it comes from.
func secretFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first(envSecretID); ok {
		if !validSecretID(v) {
			problems = append(problems, invalid(name, v, secretIDRule))
		} else {
			c.Secret.ID, c.Secret.IDFrom = v, name
		}
	}
	c.Secret.Region, c.Secret.RegionFrom, _ = lookup.first(envSecretRegion, "AWS_REGION", "AWS_DEFAULT_REGION")
	if v, _, ok := lookup.first(envVersionStage); ok {
		c.Secret.VersionStage = v
	}
	c.Secret.File, _, _ = lookup.first(envFile)
	return problems
}

// cacheFromEnv reads how long values live, how long a fetch may take and
// how many values are kept.
func cacheFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first(envTTL); ok {
		if d, err := parseDuration(v); err != nil {
			problems = append(problems, invalid(name, v, "want a duration such as 300s or 5m, or whole seconds, at least 0"))
		} else {
			c.Cache.Secrets.TTL, c.Cache.Parameters.TTL = d, d
		}
	}
	if v, name, ok := lookup.first(envMaxStale); ok {
		if d, err := parseDuration(v); err != nil {
			problems = append(problems, invalid(name, v, "want a duration such as 15m, or whole seconds, at least 0"))
		} else {
			c.Cache.MaxStale = d
		}
	}
	if v, name, ok := lookup.first(envNegativeTTL); ok {
		if d, err := parseDuration(v); err != nil {
			problems = append(problems, invalid(name, v, "want a duration such as 5s, or whole seconds, at least 0 (0 turns it off)"))
		} else {
			c.Cache.NegativeTTL = d
		}
	}
	if v, name, ok := lookup.first(envFetchTimeout); ok {
		if d, err := parseDuration(v); err != nil || d == 0 {
			problems = append(problems, invalid(name, v, "want a positive duration such as 5s"))
		} else {
			c.Cache.Secrets.FetchTimeout, c.Cache.Parameters.FetchTimeout = d, d
		}
	}
	if v, name, ok := lookup.first(envCacheSize); ok {
		if n, ok := parseCacheSize(v); !ok {
			problems = append(problems, invalid(name, v, cacheSizeRule))
		} else {
			c.Cache.Size = n
		}
	}
	return problems
}

// maxPrefetch bounds STARFLEET_SECRETS_PREFETCH: everything in it is fetched
// during every cold start.
const maxPrefetch = 100

// prefetchFromEnv reads the secrets and parameters to warm during INIT.
func prefetchFromEnv(lookup LookupFunc, c *Config) []error {
	v, name, ok := lookup.first(envPrefetch)
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

// prefetchRole separates an entry's role: "ID;role=ARN".
const prefetchRole = ";role="

// parsePrefetchItem reads one STARFLEET_SECRETS_PREFETCH entry: "ssm:NAME",
// a name starting with "/" or a Parameter Store ARN is a parameter (read
// with decryption, as clients of the AWS layer ask); "secretsmanager:ID" or
// anything else is a secret id. Either may end in ";role=ROLE_ARN", to be
// read under that role.
func parsePrefetchItem(item string) (upstream.Key, error) {
	item, role, hasRole := strings.Cut(item, prefetchRole)
	if hasRole {
		if err := upstream.CheckRoleARN(role); err != nil {
			return upstream.Key{}, fmt.Errorf("role: %w", err)
		}
	}
	key, err := parsePrefetchName(item)
	key.RoleARN = role
	return key, err
}

// parsePrefetchName reads the name part of a prefetch entry.
func parsePrefetchName(item string) (upstream.Key, error) {
	var key upstream.Key
	switch {
	case strings.HasPrefix(item, "ssm:"):
		key = upstream.Key{Parameter: strings.TrimPrefix(item, "ssm:"), WithDecryption: true}
	case strings.HasPrefix(item, "/"), strings.HasPrefix(item, "arn:") && strings.Contains(item, ":ssm:"):
		key = upstream.Key{Parameter: item, WithDecryption: true}
	default:
		key = upstream.Key{SecretID: strings.TrimPrefix(item, "secretsmanager:")}
	}
	name := key.Parameter + key.SecretID
	switch {
	case name == "":
		return upstream.Key{}, errors.New("empty name")
	case len(name) > 2048:
		return upstream.Key{}, errors.New("longer than 2048 bytes")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return upstream.Key{}, errors.New("contains a space or control character")
	}
	return key, nil
}

// serverFromEnv reads where and to whom the HTTP API answers.
func serverFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first(envPort); ok {
		if n, ok := parsePort(v); !ok {
			problems = append(problems, invalid(name, v, rulePort))
		} else {
			c.Server.Port = n
		}
	}
	if v, name, ok := lookup.first(envMaxConnections); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxConnections {
			problems = append(problems, invalid(name, v, fmt.Sprintf("want a whole number of connections from 1 to %d", maxConnections)))
		} else {
			c.Server.MaxConnections = n
		}
	}
	if v, name, ok := lookup.first(envAllow); ok {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if err := server.ValidateName(s); err != nil {
				problems = append(problems, invalid(name, v, fmt.Sprintf("slice name %q is %v", s, err)))
				continue
			}
			c.Server.Allow = append(c.Server.Allow, s)
		}
	}
	return problems
}

// rolesFromEnv reads which roles may be assumed, and checks that every
// prefetch entry's role is one of them.
func rolesFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first(envRoles); ok {
		for _, role := range strings.Split(v, ",") {
			role = strings.TrimSpace(role)
			if role == "" {
				continue
			}
			if role != "*" {
				if err := upstream.CheckRoleARN(role); err != nil {
					problems = append(problems, invalid(name, role, fmt.Sprintf("want role ARNs or *: %v", err)))
					continue
				}
			}
			c.Server.Roles = append(c.Server.Roles, role)
		}
	}
	for _, key := range c.Prefetch {
		if key.RoleARN != "" && !slices.Contains(c.Server.Roles, "*") && !slices.Contains(c.Server.Roles, key.RoleARN) {
			problems = append(problems, fmt.Errorf("%s: %s names role %s, which %s does not list", envPrefetch, key, key.RoleARN, envRoles))
		}
	}
	return problems
}

// tokenFromEnv reads the token callers must present. The token is never
// quoted in an error.
func tokenFromEnv(lookup LookupFunc, c *Config) []error {
	v, _, ok := lookup.first(tokenVariables...)
	if !ok {
		return []error{fmt.Errorf("no token: set %s (or run where AWS_SESSION_TOKEN, AWS_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN is set); secrets are never served unauthenticated", envToken)}
	}
	c.Server.Token = v
	return nil
}

// logFromEnv reads the log level.
func logFromEnv(lookup LookupFunc, c *Config) []error {
	v, name, ok := lookup.first(envLogLevel)
	if !ok {
		return nil
	}
	level, off, err := parseLogLevel(v)
	if err != nil {
		return []error{invalid(name, v, ruleLogLevel)}
	}
	c.Log = LogConfig{Level: level, Off: off}
	return nil
}

// metricsFromEnv reads whether and under which namespace metrics are written.
func metricsFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	if v, name, ok := lookup.first(envMetrics); ok {
		if on, err := strconv.ParseBool(v); err != nil {
			problems = append(problems, invalid(name, v, ruleBool))
		} else {
			c.Metrics.Enabled = on
		}
	}
	if v, name, ok := lookup.first(envMetricsNS); ok {
		if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
			problems = append(problems, invalid(name, v, "want a CloudWatch namespace: at most 255 characters, no control characters"))
		} else {
			c.Metrics.Namespace = v
		}
	}
	return problems
}

// awsLayerAlias is one variable of the AWS Parameters and Secrets Lambda
// Extension: honoured only where ours, for the same setting, is unset, so
// that a function switching layers keeps its settings.
type awsLayerAlias struct {
	name, ours, rule string
	// apply sets the value; false when it breaks the rule.
	apply func(c *Config, value string) bool
}

// awsLayerAliases are the AWS layer's variables. Not
// PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: the AWS layer's variable
// bounds its outbound connections, not its callers.
var awsLayerAliases = []awsLayerAlias{
	// Whole seconds, as on the AWS layer; unlike it, values above 300 are
	// honoured, not clamped.
	{"SECRETS_MANAGER_TTL", envTTL, ruleSeconds, func(c *Config, v string) bool {
		return setWhole(&c.Cache.Secrets.TTL, v, time.Second, false)
	}},
	{"SSM_PARAMETER_STORE_TTL", envTTL, ruleSeconds, func(c *Config, v string) bool {
		return setWhole(&c.Cache.Parameters.TTL, v, time.Second, false)
	}},
	// The AWS layer turns caching off with CACHE_ENABLED=false or
	// CACHE_SIZE=0; both mean TTL 0 here, unless our own TTL is set.
	{"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", envTTL, ruleBool, func(c *Config, v string) bool {
		enabled, err := strconv.ParseBool(v)
		if err == nil && !enabled {
			c.Cache.Secrets.TTL, c.Cache.Parameters.TTL = 0, 0
		}
		return err == nil
	}},
	{"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", envCacheSize, cacheSizeRule, func(c *Config, v string) bool {
		if n, err := strconv.Atoi(v); err == nil && n == 0 {
			c.Cache.Secrets.TTL, c.Cache.Parameters.TTL = 0, 0
			return true
		}
		n, ok := parseCacheSize(v)
		if ok {
			c.Cache.Size = n
		}
		return ok
	}},
	// For the AWS layer 0 means no timeout; a fetch is always bounded
	// here, so 0 keeps our default.
	{"SECRETS_MANAGER_TIMEOUT_MILLIS", envFetchTimeout, ruleMilliseconds, func(c *Config, v string) bool {
		return setWhole(&c.Cache.Secrets.FetchTimeout, v, time.Millisecond, true)
	}},
	{"SSM_PARAMETER_STORE_TIMEOUT_MILLIS", envFetchTimeout, ruleMilliseconds, func(c *Config, v string) bool {
		return setWhole(&c.Cache.Parameters.FetchTimeout, v, time.Millisecond, true)
	}},
	{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", envPort, rulePort, func(c *Config, v string) bool {
		n, ok := parsePort(v)
		if ok {
			c.Server.Port = n
		}
		return ok
	}},
	{"PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", envLogLevel, ruleLogLevel, func(c *Config, v string) bool {
		level, off, err := parseLogLevel(v)
		if err == nil {
			c.Log = LogConfig{Level: level, Off: off}
		}
		return err == nil
	}},
}

// setWhole sets *d to v whole units, refusing anything but a number of
// at least 0; with zeroKeeps, 0 leaves *d as it was.
func setWhole(d *time.Duration, v string, unit time.Duration, zeroKeeps bool) bool {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return false
	}
	if n > 0 || !zeroKeeps {
		*d = time.Duration(n) * unit
	}
	return true
}

// awsLayerFromEnv honours the AWS layer's variables where ours are unset.
// The caching switches yield to our TTL: a TTL set by us is never turned
// off by them.
func awsLayerFromEnv(lookup LookupFunc, c *Config) []error {
	var problems []error
	for _, alias := range awsLayerAliases {
		v, _, ok := lookup.first(alias.name)
		if !ok {
			continue
		}
		if lookup.isSet(alias.ours) && alias.name != "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED" {
			continue
		}
		keep := *c
		if !alias.apply(c, v) {
			problems = append(problems, invalid(alias.name, v, alias.rule))
			continue
		}
		if lookup.isSet(envTTL) {
			c.Cache.Secrets.TTL, c.Cache.Parameters.TTL = keep.Cache.Secrets.TTL, keep.Cache.Parameters.TTL
		}
	}
	return problems
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
