package main

import (
	"time"
)

// cacheFromEnv reads how long values live, how long a fetch may take and
// how many values are kept: our variables, else the AWS layer's.
func cacheFromEnv(lookup LookupFunc, layer awsLayer) (CacheConfig, []error) {
	fresh := Freshness{TTL: defaultTTL, FetchTimeout: defaultFetchTimeout}
	c := CacheConfig{Secrets: fresh, Parameters: fresh, MaxStale: defaultMaxStale, NegativeTTL: defaultNegativeTTL, Size: defaultCacheSize}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	ttl, ok, err := durationFromEnv(lookup, envTTL, "want a duration such as 300s or 5m, or whole seconds, at least 0", false)
	add(err)
	switch {
	case ok:
		c.Secrets.TTL, c.Parameters.TTL = ttl, ttl
	case err == nil:
		c.Secrets.TTL = orDefault(layer.secretsTTL, c.Secrets.TTL)
		c.Parameters.TTL = orDefault(layer.parametersTTL, c.Parameters.TTL)
		if layer.cachingOff {
			c.Secrets.TTL, c.Parameters.TTL = 0, 0
		}
	}
	if d, ok, err := durationFromEnv(lookup, envMaxStale, "want a duration such as 15m, or whole seconds, at least 0", false); ok {
		c.MaxStale = d
	} else {
		add(err)
	}
	if d, ok, err := durationFromEnv(lookup, envNegativeTTL, "want a duration such as 5s, or whole seconds, at least 0 (0 turns it off)", false); ok {
		c.NegativeTTL = d
	} else {
		add(err)
	}
	if d, ok, err := durationFromEnv(lookup, envFetchTimeout, "want a positive duration such as 5s", true); ok {
		c.Secrets.FetchTimeout, c.Parameters.FetchTimeout = d, d
	} else {
		add(err)
		c.Secrets.FetchTimeout = orDefault(layer.secretsTimeout, c.Secrets.FetchTimeout)
		c.Parameters.FetchTimeout = orDefault(layer.parametersTimeout, c.Parameters.FetchTimeout)
	}
	if v, name, ok := lookup.first(envCacheSize); ok {
		if n, ok := parseCacheSize(v); !ok {
			add(invalid(name, v, cacheSizeRule))
		} else {
			c.Size = n
		}
	} else if layer.size > 0 {
		c.Size = layer.size
	}
	return c, problems
}

// orDefault is *d, or def where d is nil.
func orDefault(d *time.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return *d
}
