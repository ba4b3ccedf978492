package main

import "github.com/starfleet/starfleet-secrets/item"

// secretFromEnv reads which secret to serve and where it comes from: our
// variables, else Starfleet's own configuration (see starfleet.go), else
// the defaults.
func secretFromEnv(lookup LookupFunc, root string) (SecretConfig, []error) {
	s := SecretConfig{ID: "Starfleet", IDFrom: "default", VersionStage: item.StageCurrent}
	var problems []error
	if v, name, ok := lookup.first(envSecretID); ok {
		if !validSecretID(v) {
			problems = append(problems, invalid(name, v, secretIDRule))
		} else {
			s.ID, s.IDFrom = v, name
		}
	}
	s.Region, s.RegionFrom, _ = lookup.first(envSecretRegion, "AWS_REGION", "AWS_DEFAULT_REGION")
	if v, _, ok := lookup.first(envVersionStage); ok {
		s.VersionStage = v
	}
	s.File, _, _ = lookup.first(envFile)
	s, err := withStarfleetConfig(lookup, root, s)
	if err != nil {
		problems = append(problems, err)
	}
	return s, problems
}
