//go:build !lambda

package awsconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// loadAWS reads the SDK's default configuration chain, which reads the
// environment and the shared files itself, and the Services' own
// endpoints and endpoint variant from the sources it read, as the SDK's
// clients would.
func loadAWS(ctx context.Context, _ func(string) (string, bool)) (AWS, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return AWS{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	a := AWS{Config: cfg, Variant: configuredVariant(ctx, cfg.ConfigSources)}
	for _, s := range Services {
		if url, ok := configuredEndpoint(ctx, s, cfg.ConfigSources); ok {
			if a.endpoints == nil {
				a.endpoints = make(map[string]string)
			}
			a.endpoints[s.EndpointID] = url
		}
	}
	return a, nil
}

// configuredVariant is the endpoint variant the configuration sources ask
// for (AWS_USE_FIPS_ENDPOINT, use_fips_endpoint, and the dual-stack
// ones): the first source that sets each wins.
func configuredVariant(ctx context.Context, sources []any) Variant {
	type fips interface {
		GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
	}
	type dualStack interface {
		GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
	}
	var v Variant
	for _, s := range sources {
		if p, ok := s.(fips); ok {
			if state, found, err := p.GetUseFIPSEndpoint(ctx); err == nil && found {
				v.FIPS = state == aws.FIPSEndpointStateEnabled
				break
			}
		}
	}
	for _, s := range sources {
		if p, ok := s.(dualStack); ok {
			if state, found, err := p.GetUseDualStackEndpoint(ctx); err == nil && found {
				v.DualStack = state == aws.DualStackEndpointStateEnabled
				break
			}
		}
	}
	return v
}

// configuredEndpoint is a service's own endpoint from the configuration
// sources (AWS_ENDPOINT_URL_<ID>, a profile's services section), as the
// SDK's clients resolve it: not when endpoints are ignored, and not over
// AWS_ENDPOINT_URL unless the variable is the service's own.
func configuredEndpoint(ctx context.Context, s Service, sources []any) (string, bool) {
	type ignoring interface {
		GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
	}
	type serviceEndpoints interface {
		GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
	}
	_, general := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_" + s.EndpointID)
	if general && !own {
		return "", false
	}
	for _, src := range sources {
		if p, ok := src.(ignoring); ok {
			if ignore, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				if ignore {
					return "", false
				}
				break
			}
		}
	}
	for _, src := range sources {
		if p, ok := src.(serviceEndpoints); ok {
			if url, found, err := p.GetServiceBaseEndpoint(ctx, s.SDKID); err != nil || found {
				return url, err == nil && found
			}
		}
	}
	return "", false
}
