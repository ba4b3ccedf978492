package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/migrate"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// Exit codes of the split and join commands.
const (
	exitFailed = 1 // AWS refused, or the secret cannot be moved
	exitUsage  = 2
)

// migrateCommand runs `starfleet-secrets split` or `join` (name) with args,
// with AWS's settings from lookup, and returns the exit code.
func migrateCommand(ctx context.Context, name string, args []string, lookup LookupFunc, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("starfleet-secrets "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var from, to, slices, region, kms, prefix string
	var dryRun bool
	fs.StringVar(&prefix, "prefix", "", "the split layout's prefix: each slice is the secret <prefix><slice> (required)")
	fs.StringVar(&region, "region", "", "the secrets' region (default: the ARN's, else AWS_REGION)")
	fs.BoolVar(&dryRun, "dry-run", false, "read and say what would be written, write nothing")
	fs.StringVar(&kms, "kms-key-id", "", "the KMS key of the secrets created (default: split, the source's; join, the service's)")
	if name == "split" {
		fs.StringVar(&from, "from", "", "the Starfleet secret to split: name or ARN (required)")
	} else {
		fs.StringVar(&to, "to", "", "the Starfleet secret to write: name or ARN (required)")
		fs.StringVar(&slices, "slices", "", "comma-separated slices to join (default: every secret named <prefix><slice>)")
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if prefix == "" || (name == "split" && from == "") || (name == "join" && to == "") || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "starfleet-secrets %s: --prefix and --%s are required, and nothing else\n", name, map[string]string{"split": "from", "join": "to"}[name])
		fs.Usage()
		return exitUsage
	}
	svc, err := migrateService(ctx, lookup, cmp.Or(region, item.RegionOf(from+to)))
	if err != nil {
		fmt.Fprintf(stderr, "starfleet-secrets %s: %v\n", name, err)
		return exitFailed
	}
	o := migrate.Options{Service: svc, Prefix: prefix, DryRun: dryRun, KMSKeyID: kms, Out: stdout}
	if name == "split" {
		err = migrate.Split(ctx, o, from)
	} else {
		err = migrate.Join(ctx, o, to, listOf(slices))
	}
	if err != nil {
		fmt.Fprintf(stderr, "starfleet-secrets %s: %v\n", name, err)
		return exitFailed
	}
	return 0
}

// migrateService talks to Secrets Manager in region (empty: AWS's own
// settings decide) with the credentials AWS's settings give.
func migrateService(ctx context.Context, lookup LookupFunc, region string) (migrate.Service, error) {
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

func listOf(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
