//go:build !lambda

package upstream

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
)

// loadAWS reads the SDK's default configuration chain, which reads the
// environment itself and resolves the services' own endpoints.
func loadAWS(ctx context.Context, _ func(string) (string, bool)) (AWS, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return AWS{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return AWS{Config: cfg}, nil
}
