//go:build !lambda

package upstream

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
)

// loadAWS reads the SDK's default configuration chain, which reads the
// environment itself and resolves the services' own endpoints for the
// SDK's clients; STS, which this package calls itself, gets its own the
// same way.
func loadAWS(ctx context.Context, _ func(string) (string, bool)) (AWS, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return AWS{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	a := AWS{Config: cfg}
	if url, ok := configuredEndpoint(ctx, "STS", cfg.ConfigSources); ok {
		a.endpoints = map[string]string{stsID: url}
	}
	return a, nil
}

// configuredEndpoint is a service's own endpoint from the configuration
// sources (AWS_ENDPOINT_URL_<ID>, a profile's services section), as the
// SDK's clients resolve it: not when endpoints are ignored, and not over
// AWS_ENDPOINT_URL unless the variable is the service's own.
func configuredEndpoint(ctx context.Context, sdkID string, sources []any) (string, bool) {
	type ignoring interface {
		GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
	}
	type serviceEndpoints interface {
		GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
	}
	_, general := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_" + sdkID)
	if general && !own {
		return "", false
	}
	for _, s := range sources {
		if p, ok := s.(ignoring); ok {
			if ignore, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				if ignore {
					return "", false
				}
				break
			}
		}
	}
	for _, s := range sources {
		if p, ok := s.(serviceEndpoints); ok {
			if url, found, err := p.GetServiceBaseEndpoint(ctx, sdkID); err != nil || found {
				return url, err == nil && found
			}
		}
	}
	return "", false
}
