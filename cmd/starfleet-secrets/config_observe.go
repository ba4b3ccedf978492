package main

import (
	"log/slog"
	"strconv"
	"strings"
	"unicode"
)

// logFromEnv reads the log level: ours, else the AWS layer's.
func logFromEnv(lookup LookupFunc, layer awsLayer) (LogConfig, []error) {
	v, name, ok := lookup.first(envLogLevel)
	if !ok {
		if layer.log != nil {
			return *layer.log, nil
		}
		return LogConfig{Level: slog.LevelInfo}, nil
	}
	level, off, err := parseLogLevel(v)
	if err != nil {
		return LogConfig{Level: slog.LevelInfo}, []error{invalid(name, v, ruleLogLevel)}
	}
	return LogConfig{Level: level, Off: off}, nil
}

// metricsFromEnv reads whether and under which namespace metrics are written.
func metricsFromEnv(lookup LookupFunc) (MetricsConfig, []error) {
	m := MetricsConfig{Enabled: true, Namespace: "StarfleetSecrets"}
	var problems []error
	if v, name, ok := lookup.first(envMetrics); ok {
		if on, err := strconv.ParseBool(v); err != nil {
			problems = append(problems, invalid(name, v, ruleBool))
		} else {
			m.Enabled = on
		}
	}
	if v, name, ok := lookup.first(envMetricsNS); ok {
		if len(v) > 255 || strings.ContainsFunc(v, unicode.IsControl) {
			problems = append(problems, invalid(name, v, "want a CloudWatch namespace: at most 255 characters, no control characters"))
		} else {
			m.Namespace = v
		}
	}
	return m, problems
}
