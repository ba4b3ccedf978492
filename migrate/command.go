package migrate

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// Exit codes of the split and join commands.
const (
	ExitFailed = 1 // AWS refused, or the secret cannot be moved
	ExitUsage  = 2
)

// Connect makes the Service for region (empty: AWS's own settings decide).
type Connect func(ctx context.Context, region string) (Service, error)

// Command runs `starfleet-secrets split` or `join` (name) with args and
// returns the exit code: the lines of what was done on stdout, the usage
// and failures on stderr.
func Command(ctx context.Context, name string, args []string, connect Connect, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("starfleet-secrets "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var from, to, slices, region, kms, prefix string
	var dryRun bool
	fs.StringVar(&prefix, "prefix", "", "the split layout's prefix: each slice is the secret <prefix><slice> (required)")
	fs.StringVar(&region, "region", "", "the secrets' region (default: the ARN's, else AWS_REGION)")
	fs.BoolVar(&dryRun, "dry-run", false, "read and say what would be written, write nothing")
	fs.StringVar(&kms, "kms-key-id", "", "the KMS key of the secrets created (default: split, the source's; join, the service's)")
	secret := "from"
	if name == "split" {
		fs.StringVar(&from, "from", "", "the Starfleet secret to split: name or ARN (required)")
	} else {
		secret = "to"
		fs.StringVar(&to, "to", "", "the Starfleet secret to write: name or ARN (required)")
		fs.StringVar(&slices, "slices", "", "comma-separated slices to join (default: every secret named <prefix><slice>)")
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if prefix == "" || from+to == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "starfleet-secrets %s: --prefix and --%s are required, and nothing else\n", name, secret)
		fs.Usage()
		return ExitUsage
	}
	svc, err := connect(ctx, cmp.Or(region, item.RegionOf(from+to)))
	if err == nil {
		o := Options{Service: svc, Prefix: prefix, DryRun: dryRun, KMSKeyID: kms, Out: stdout}
		if name == "split" {
			err = Split(ctx, o, from)
		} else {
			err = Join(ctx, o, to, listOf(slices))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "starfleet-secrets %s: %v\n", name, err)
		return ExitFailed
	}
	return 0
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
