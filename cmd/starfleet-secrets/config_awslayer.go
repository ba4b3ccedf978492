package main

import (
	"strconv"
	"time"
)

// awsLayer is what the AWS Parameters and Secrets Lambda Extension's
// variables say where ours, for the same setting, are unset, so that a
// function switching layers keeps its settings. A nil or zero field says
// nothing. Not PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: the AWS
// layer's variable bounds its outbound connections, not its callers.
type awsLayer struct {
	// Whole seconds, as on the AWS layer; unlike it, values above 300
	// are honoured, not clamped.
	secretsTTL, parametersTTL *time.Duration
	// cachingOff: CACHE_ENABLED=false or CACHE_SIZE=0, the AWS layer's
	// switches, which mean TTL 0 here unless our own TTL is set.
	cachingOff bool
	size       int
	// For the AWS layer 0 means no timeout; a fetch is always bounded
	// here, so 0 keeps our default.
	secretsTimeout, parametersTimeout *time.Duration
	port                              int
	log                               *LogConfig
}

// awsLayerFromEnv reads the AWS layer's variables, each where ours for the
// same setting is unset, and every problem with them. CACHE_ENABLED is
// checked even beside our TTL, which it then yields to.
func awsLayerFromEnv(lookup LookupFunc) (awsLayer, []error) {
	var a awsLayer
	var problems []error
	alias := func(name, ours, rule string, apply func(v string) bool) {
		v, _, ok := lookup.first(name)
		if !ok || ours != "" && lookup.isSet(ours) {
			return
		}
		if !apply(v) {
			problems = append(problems, invalid(name, v, rule))
		}
	}
	ourTTL := lookup.isSet(envTTL)
	alias("SECRETS_MANAGER_TTL", envTTL, ruleSeconds, func(v string) bool { return wholeUnits(&a.secretsTTL, v, time.Second, false) })
	alias("SSM_PARAMETER_STORE_TTL", envTTL, ruleSeconds, func(v string) bool { return wholeUnits(&a.parametersTTL, v, time.Second, false) })
	alias("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "", ruleBool, func(v string) bool {
		enabled, err := strconv.ParseBool(v)
		a.cachingOff = a.cachingOff || err == nil && !enabled && !ourTTL
		return err == nil
	})
	alias("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", envCacheSize, cacheSizeRule, func(v string) bool {
		if n, err := strconv.Atoi(v); err == nil && n == 0 {
			a.cachingOff = a.cachingOff || !ourTTL
			return true
		}
		n, ok := parseCacheSize(v)
		if ok {
			a.size = n
		}
		return ok
	})
	alias("SECRETS_MANAGER_TIMEOUT_MILLIS", envFetchTimeout, ruleMilliseconds, func(v string) bool {
		return wholeUnits(&a.secretsTimeout, v, time.Millisecond, true)
	})
	alias("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", envFetchTimeout, ruleMilliseconds, func(v string) bool {
		return wholeUnits(&a.parametersTimeout, v, time.Millisecond, true)
	})
	alias("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", envPort, rulePort, func(v string) bool {
		n, ok := parsePort(v)
		if ok {
			a.port = n
		}
		return ok
	})
	alias("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", envLogLevel, ruleLogLevel, func(v string) bool {
		level, off, err := parseLogLevel(v)
		if err == nil {
			a.log = &LogConfig{Level: level, Off: off}
		}
		return err == nil
	})
	return a, problems
}

// wholeUnits sets *d to v whole units, refusing anything but a number of
// at least 0; with zeroSaysNothing, 0 leaves *d nil.
func wholeUnits(d **time.Duration, v string, unit time.Duration, zeroSaysNothing bool) bool {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return false
	}
	if n > 0 || !zeroSaysNothing {
		value := time.Duration(n) * unit
		*d = &value
	}
	return true
}
