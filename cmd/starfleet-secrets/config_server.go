package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server"
)

// serverFromEnv reads where and to whom the HTTP API answers: the port
// (ours, else the AWS layer's), the connection cap, the slices and roles
// allowed, and the token.
func serverFromEnv(lookup LookupFunc, layer awsLayer) (ServerConfig, []error) {
	s := ServerConfig{Port: defaultPort}
	var problems []error
	if v, name, ok := lookup.first(envPort); ok {
		if n, ok := parsePort(v); !ok {
			problems = append(problems, invalid(name, v, rulePort))
		} else {
			s.Port = n
		}
	} else if layer.port > 0 {
		s.Port = layer.port
	}
	if v, name, ok := lookup.first(envMaxConnections); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxConnections {
			problems = append(problems, invalid(name, v, fmt.Sprintf("want a whole number of connections from 1 to %d", maxConnections)))
		} else {
			s.MaxConnections = n
		}
	}
	var errs []error
	s.Allow, errs = allowFromEnv(lookup)
	problems = append(problems, errs...)
	s.Roles, errs = rolesFromEnv(lookup)
	problems = append(problems, errs...)
	s.Token, errs = tokenFromEnv(lookup)
	return s, append(problems, errs...)
}

// allowFromEnv reads the slices this function may read.
func allowFromEnv(lookup LookupFunc) ([]string, []error) {
	v, name, ok := lookup.first(envAllow)
	if !ok {
		return nil, nil
	}
	var allow []string
	var problems []error
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if err := server.ValidateName(s); err != nil {
			problems = append(problems, invalid(name, v, fmt.Sprintf("slice name %q is %v", s, err)))
			continue
		}
		allow = append(allow, s)
	}
	return allow, problems
}

// rolesFromEnv reads which roles may be assumed.
func rolesFromEnv(lookup LookupFunc) ([]string, []error) {
	v, name, ok := lookup.first(envRoles)
	if !ok {
		return nil, nil
	}
	var roles []string
	var problems []error
	for _, role := range strings.Split(v, ",") {
		role = strings.TrimSpace(role)
		if role == "" {
			continue
		}
		if role != "*" {
			if err := item.CheckRoleARN(role); err != nil {
				problems = append(problems, invalid(name, role, fmt.Sprintf("want role ARNs or *: %v", err)))
				continue
			}
		}
		roles = append(roles, role)
	}
	return roles, problems
}

// tokenFromEnv reads the token callers must present. The token is never
// quoted in an error.
func tokenFromEnv(lookup LookupFunc) (string, []error) {
	v, _, ok := lookup.first(tokenVariables...)
	if !ok {
		return "", []error{fmt.Errorf("no token: set %s (or run where AWS_SESSION_TOKEN, AWS_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN is set); secrets are never served unauthenticated", envToken)}
	}
	return v, nil
}
