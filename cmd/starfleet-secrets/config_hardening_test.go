package main

import (
	"strings"
	"testing"

	"github.com/starfleet/starfleet-secrets/server/loopback"
)

func TestMaxConnectionsSetting(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  int // 0: the server's default
		bad   bool
	}{
		{"", 0, false},
		{"1", 1, false},
		{" 64 ", 64, false},
		{"100000", 100000, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"100001", 0, true},
		{"many", 0, true},
		{"1.5", 0, true},
	} {
		kv := []string{"AWS_SESSION_TOKEN", "tok"}
		if tt.value != "" {
			kv = append(kv, "STARFLEET_SECRETS_MAX_CONNECTIONS", tt.value)
		}
		c, err := LoadConfig(env(kv...))
		if tt.bad {
			if err == nil || !strings.Contains(err.Error(), "STARFLEET_SECRETS_MAX_CONNECTIONS") || !strings.Contains(err.Error(), "from 1 to 100000") {
				t.Errorf("%q: %v, want an error naming the variable and its range", tt.value, err)
			}
			continue
		}
		if err != nil || c.Server.MaxConnections != tt.want {
			t.Errorf("%q: %d, %v; want %d", tt.value, c.Server.MaxConnections, err, tt.want)
		}
	}
	// The AWS layer's variable of that name bounds outbound connections:
	// it does not set the inbound cap.
	c, err := LoadConfig(env("AWS_SESSION_TOKEN", "tok", "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", "3"))
	if err != nil || c.Server.MaxConnections != 0 {
		t.Errorf("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS set the inbound cap: %d, %v", c.Server.MaxConnections, err)
	}
	if loopback.DefaultMaxConnections < 256 {
		t.Errorf("default cap %d is below the 256 connections the soak opens", loopback.DefaultMaxConnections)
	}
}
