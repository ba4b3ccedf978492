package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/starfleet/starfleet-secrets/upstream"
)

// maxPrefetch bounds STARFLEET_SECRETS_PREFETCH: everything in it is fetched
// during every cold start.
const maxPrefetch = 100

// prefetchFromEnv reads the secrets and parameters to warm during INIT.
func prefetchFromEnv(lookup LookupFunc) ([]upstream.Key, []error) {
	v, name, ok := lookup.first(envPrefetch)
	if !ok {
		return nil, nil
	}
	items := strings.Split(v, ",")
	if len(items) > maxPrefetch {
		return nil, []error{fmt.Errorf("%s: %d entries; at most %d are prefetched", name, len(items), maxPrefetch)}
	}
	var keys []upstream.Key
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
		keys = append(keys, key)
	}
	return keys, problems
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
