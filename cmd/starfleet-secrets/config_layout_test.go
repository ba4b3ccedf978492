package main

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitLayoutConfig(t *testing.T) {
	const token = "STARFLEET_SECRETS_TOKEN=t"
	for _, tc := range []struct {
		name   string
		env    []string
		slices []string // the layout's, when valid
		errs   []string // each in the error, when not
	}{
		{"one secret", []string{token}, nil, nil},
		{"slices from the allow-list", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_ALLOW=GitHubSyncWorker"}, []string{"GitHubSyncWorker"}, nil},
		{"slices listed", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_SLICES=STARFLEET, GitHubSyncWorker"}, []string{"STARFLEET", "GitHubSyncWorker"}, nil},
		{"allowed within the listed", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_SLICES=STARFLEET,GitHubSyncWorker", "STARFLEET_SECRETS_ALLOW=STARFLEET"}, []string{"STARFLEET", "GitHubSyncWorker"}, nil},
		{"slices discovered at start", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/"}, nil, nil},
		{"allowed beyond the listed", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_SLICES=STARFLEET", "STARFLEET_SECRETS_ALLOW=GitHubSyncWorker"}, nil, []string{`allows slice "GitHubSyncWorker", which STARFLEET_SECRETS_SLICES does not list`}},
		{"a bad prefix", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Star fleet/", "STARFLEET_SECRETS_ALLOW=A"}, nil, []string{"STARFLEET_SECRETS_SLICE_PREFIX=\"Star fleet/\": want the start of a secret name"}},
		{"a slice that cannot end a secret name", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_ALLOW=Git Hub"}, nil, []string{`slice "Git Hub" cannot end a secret name`}},
		{"slices without the layout", []string{token, "STARFLEET_SECRETS_SLICES=A"}, nil, []string{"only the split layout"}},
		{"with the local file", []string{token, "STARFLEET_SECRETS_SLICE_PREFIX=Starfleet/", "STARFLEET_SECRETS_ALLOW=A", "STARFLEET_SECRETS_FILE=/tmp/x.json"}, nil, []string{"STARFLEET_SECRETS_FILE serves one secret"}},
	} {
		var pairs []string
		for _, kv := range tc.env {
			k, v, _ := strings.Cut(kv, "=")
			pairs = append(pairs, k, v)
		}
		c, err := loadConfig(env(pairs...), t.TempDir())
		switch {
		case tc.errs == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.errs == nil && !slices.Equal(c.layoutSlices(), tc.slices) && tc.slices != nil:
			t.Errorf("%s: slices %v, want %v", tc.name, c.layoutSlices(), tc.slices)
		case tc.errs != nil && err == nil:
			t.Errorf("%s: accepted", tc.name)
		}
		for _, want := range tc.errs {
			if err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want it to say %q", tc.name, err, want)
			}
		}
	}
}
