package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/migrate"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// migrateService connects the split and join commands to Secrets Manager
// in region, with the credentials AWS's settings from lookup give.
func migrateService(lookup LookupFunc) migrate.Connect {
	return func(ctx context.Context, region string) (migrate.Service, error) {
		a, err := awsconfig.LoadAWS(ctx, lookup, nil)
		if err != nil {
			return nil, err
		}
		a.UserAgent = userAgent(version)
		clients, err := upstream.NewClients(a, region, "starfleet-secrets-migrate")
		if errors.Is(err, upstream.ErrNoRegion) {
			return nil, fmt.Errorf("%w: give --region or set AWS_REGION", err)
		}
		if err != nil {
			return nil, err
		}
		return migrate.NewService(clients, clients.HomeRegion(item.ServiceSecretsManager)), nil
	}
}
