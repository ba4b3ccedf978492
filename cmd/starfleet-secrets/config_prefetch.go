package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/starfleet/starfleet-secrets/item"
)

// maxPrefetch bounds STARFLEET_SECRETS_PREFETCH: everything in it is fetched
// during every cold start.
const maxPrefetch = 100

// prefetchFromEnv reads the secrets and parameters to warm during INIT.
func prefetchFromEnv(lookup LookupFunc) ([]item.Key, []error) {
	v, name, ok := lookup.first(envPrefetch)
	if !ok {
		return nil, nil
	}
	entries := strings.Split(v, ",")
	if len(entries) > maxPrefetch {
		return nil, []error{fmt.Errorf("%s: %d entries; at most %d are prefetched", name, len(entries), maxPrefetch)}
	}
	var keys []item.Key
	var problems []error
	for _, entry := range entries {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		key, err := parsePrefetchItem(entry)
		if err != nil {
			// The entry, not the whole list: each bad entry is named once.
			problems = append(problems, invalid(name, entry, err.Error()))
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
func parsePrefetchItem(entry string) (item.Key, error) {
	entry, role, hasRole := strings.Cut(entry, prefetchRole)
	if hasRole {
		if err := item.CheckRoleARN(role); err != nil {
			return nil, fmt.Errorf("role: %w", err)
		}
	}
	name, key := parsePrefetchName(entry)
	switch {
	case name == "":
		return nil, errors.New("empty name")
	case len(name) > 2048:
		return nil, errors.New("longer than 2048 bytes")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return nil, errors.New("contains a space or control character")
	}
	return key(item.Scope{RoleARN: role}), nil
}

// parsePrefetchName reads the name part of a prefetch entry: the name, and
// the key it makes in a scope.
func parsePrefetchName(entry string) (string, func(item.Scope) item.Key) {
	var name string
	switch {
	case strings.HasPrefix(entry, "ssm:"):
		name = strings.TrimPrefix(entry, "ssm:")
	case strings.HasPrefix(entry, "/"), strings.HasPrefix(entry, "arn:") && strings.Contains(entry, ":ssm:"):
		name = entry
	default:
		name = strings.TrimPrefix(entry, "secretsmanager:")
		return name, func(s item.Scope) item.Key { return item.SecretKey{ID: name, Scope: s} }
	}
	return name, func(s item.Scope) item.Key { return item.ParameterKey{Name: name, WithDecryption: true, Scope: s} }
}
