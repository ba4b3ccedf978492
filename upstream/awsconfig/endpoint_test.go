package awsconfig

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestEndpointURLMatchesTheSDK: the endpoints the extension derives itself
// are the ones the SDK's own Secrets Manager and Systems Manager clients
// resolve, in every partition and variant. The SDK packages are linked by
// this test only, not by the extension.
func TestEndpointURLMatchesTheSDK(t *testing.T) {
	ctx := context.Background()
	known := sdkPartitions(t)
	regions := []string{"xx-mars-1", "local"} // a region no partition claims is aws's
	for _, p := range known {
		for region := range p.Regions {
			regions = append(regions, region)
		}
		// A region the partition's pattern claims, not yet in its list.
		regions = append(regions, p.newRegion())
	}
	sdk := map[Service]func(region string, fips, dualStack bool) (string, error){
		SecretsManager: func(region string, fips, dualStack bool) (string, error) {
			ep, err := secretsmanager.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, secretsmanager.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
		STS: func(region string, fips, dualStack bool) (string, error) {
			ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sts.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
		ParameterStore: func(region string, fips, dualStack bool) (string, error) {
			ep, err := ssm.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ssm.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
	}
	compared := 0
	for s, resolve := range sdk {
		for _, region := range regions {
			for _, v := range []Variant{{}, {FIPS: true}, {DualStack: true}, {FIPS: true, DualStack: true}} {
				want, err := resolve(region, v.FIPS, v.DualStack)
				if err != nil {
					t.Fatalf("the SDK's %s resolver, %s %+v: %v", s.Name, region, v, err)
				}
				got, err := EndpointURL(s, region, nil, v)
				if err != nil || got != want {
					t.Errorf("%s %s %+v: %q, %v; the SDK resolves %q", s.Name, region, v, got, err, want)
				}
				compared++
			}
		}
	}
	t.Logf("%d endpoints compared: %d regions of %d partitions, 4 variants, 3 Services", compared, len(regions), len(known))
}

// sdkPartition is a partition as the SDK's partitions.json describes it.
type sdkPartition struct {
	ID          string `json:"id"`
	RegionRegex string `json:"regionRegex"`
	Regions     map[string]struct {
		Description string `json:"description"`
	} `json:"regions"`
	Outputs struct {
		DNSSuffix          string `json:"dnsSuffix"`
		DualStackDNSSuffix string `json:"dualStackDnsSuffix"`
	} `json:"outputs"`
}

// newRegion is a region name the partition's pattern claims.
func (p sdkPartition) newRegion() string {
	for region := range p.Regions {
		if strings.HasSuffix(region, "-global") {
			continue
		}
		i := strings.LastIndexByte(region, '-')
		j := strings.LastIndexByte(region[:i], '-')
		return region[:j] + "-newplace-9"
	}
	return p.ID + "-newplace-9"
}

// sdkPartitions reads the SDK's own partitions.json from the module cache,
// at the version go.mod requires: an SDK upgrade that adds a region or a
// partition, or changes a suffix, is seen here.
func sdkPartitions(t *testing.T) []sdkPartition {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("finding the SDK in the module cache: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Partitions []sdkPartition `json:"partitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Partitions
}

// TestPartitionTableIsTheSDKs: the extension's partitions are the SDK's,
// suffix for suffix, and claim the regions the SDK's patterns claim.
func TestPartitionTableIsTheSDKs(t *testing.T) {
	for _, sp := range sdkPartitions(t) {
		p, ok := awsPartition, sp.ID == "aws"
		for _, q := range partitions {
			if q.name == sp.ID {
				p, ok = q, true
			}
		}
		if !ok {
			t.Errorf("the SDK's partition %s is not in the extension's table", sp.ID)
			continue
		}
		if p.dnsSuffix != sp.Outputs.DNSSuffix || p.dualStackDNSSuffix != sp.Outputs.DualStackDNSSuffix {
			t.Errorf("%s: suffixes %q, %q; the SDK's %q, %q", sp.ID, p.dnsSuffix, p.dualStackDNSSuffix, sp.Outputs.DNSSuffix, sp.Outputs.DualStackDNSSuffix)
		}
		pattern := regexp.MustCompile(sp.RegionRegex)
		for region := range sp.Regions {
			if got := partitionOf(region); got.name != sp.ID {
				t.Errorf("region %s: partition %s, the SDK's %s", region, got.name, sp.ID)
			}
		}
		if region := sp.newRegion(); !pattern.MatchString(region) || partitionOf(region).name != sp.ID {
			t.Errorf("new region %s: partition %s, the SDK's pattern %s", region, partitionOf(region).name, sp.RegionRegex)
		}
	}
}

// TestEndpointURLOverride: an override is used as it is written, and
// cannot be combined with a variant, as in the SDKs.
func TestEndpointURLOverride(t *testing.T) {
	override := aws.String("http://127.0.0.1:5000/path")
	if got, err := EndpointURL(SecretsManager, "us-east-1", override, Variant{}); err != nil || got != *override {
		t.Errorf("override: %q, %v", got, err)
	}
	for _, v := range []Variant{{FIPS: true}, {DualStack: true}} {
		if _, err := EndpointURL(ParameterStore, "us-east-1", override, v); !errors.Is(err, ErrCustomEndpointVariant) {
			t.Errorf("override with %+v: %v, want ErrCustomEndpointVariant", v, err)
		}
	}
}

// TestEndpointURLBadRegion: a region that cannot be a host name is refused
// with a message that says what to set, not sent to a made-up host.
func TestEndpointURLBadRegion(t *testing.T) {
	for _, region := range []string{"", "us east 1", "us-east-1.evil.example", "-us-east-1", "us-east-1/", "ünï-1"} {
		if got, err := EndpointURL(SecretsManager, region, nil, Variant{}); err == nil {
			t.Errorf("region %q: %q, want an error", region, got)
		}
	}
}

// TestEndpointVariantFromTheEnvironment: AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT choose the endpoints reads go to, in either
// build, and a value that is neither true nor false is refused.
