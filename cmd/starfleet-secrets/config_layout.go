package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server"
)

// LayoutConfig is where the slices are: in the one Starfleet secret (the
// zero value), or, with a prefix, each its own secret prefix+slice, so that
// IAM can grant a function exactly the slices it reads.
type LayoutConfig struct {
	SlicePrefix string
	// Slices lists the split layout's slices (STARFLEET_SECRETS_SLICES);
	// empty means the allow-list's, or without one every secret named
	// SlicePrefix and more.
	Slices []string
}

const (
	envSlicePrefix = "STARFLEET_SECRETS_SLICE_PREFIX"
	envSlices      = "STARFLEET_SECRETS_SLICES"

	slicePrefixRule = "want the start of a secret name: 1 to 256 of letters, digits and /_+=.@-"
	sliceNameRule   = "want slice names that can end a secret name: letters, digits and /_+=.@-"
)

// layoutFromEnv reads the split layout's variables.
func layoutFromEnv(lookup LookupFunc) (LayoutConfig, []error) {
	var l LayoutConfig
	var problems []error
	if v, name, ok := lookup.first(envSlicePrefix); ok {
		if len(v) > 256 || !item.IsSecretName(v) {
			problems = append(problems, invalid(name, v, slicePrefixRule))
		} else {
			l.SlicePrefix = v
		}
	}
	if v, name, ok := lookup.first(envSlices); ok {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
			case server.ValidateName(s) != nil || !item.IsSecretName(s):
				problems = append(problems, invalid(name, v, fmt.Sprintf("slice %q: %s", s, sliceNameRule)))
			default:
				l.Slices = append(l.Slices, s)
			}
		}
	}
	return l, problems
}

// layoutSlices are the split layout's slices: those listed, else the
// allow-list's; none means they are discovered at start (see
// discoverSlices).
func (c Config) layoutSlices() []string {
	if len(c.Layout.Slices) > 0 {
		return c.Layout.Slices
	}
	return c.Server.Allow
}

// validateLayout checks the split layout against the other concerns: it
// needs its slices named, an allow-list within them, and Secrets Manager.
func validateLayout(c Config) []error {
	l := c.Layout
	if l.SlicePrefix == "" {
		if len(l.Slices) > 0 {
			return []error{fmt.Errorf("%s lists slices, which only the split layout (%s) reads", envSlices, envSlicePrefix)}
		}
		return nil
	}
	var problems []error
	if c.Secret.File != "" {
		problems = append(problems, fmt.Errorf("%s: the split layout reads one secret per slice from Secrets Manager; %s serves one secret", envSlicePrefix, envFile))
	}
	if len(l.Slices) > 0 {
		for _, s := range c.Server.Allow {
			if !slices.Contains(l.Slices, s) {
				problems = append(problems, fmt.Errorf("%s allows slice %q, which %s does not list", envAllow, s, envSlices))
			}
		}
	}
	for _, s := range c.layoutSlices() {
		if !item.IsSecretName(s) {
			problems = append(problems, fmt.Errorf("%s: slice %q cannot end a secret name: %s", envSlicePrefix, s, sliceNameRule))
		}
	}
	return problems
}
