package upstream

import (
	"context"
	"errors"
	"os"
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
	regions := []string{
		"us-east-1", "eu-west-1", "ap-southeast-7", "mx-central-1", "il-central-1",
		"us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
		"us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1",
		"aws-global", "aws-cn-global", "aws-us-gov-global", "aws-iso-b-global",
		"xx-mars-1", "us-gov-mars-2", "cn-mars-9", "us-isof-moon-3", "eusc-de-new-2", "local",
	}
	sdk := map[service]func(region string, fips, dualStack bool) (string, error){
		secretsManagerAPI: func(region string, fips, dualStack bool) (string, error) {
			ep, err := secretsmanager.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, secretsmanager.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
		stsAPI: func(region string, fips, dualStack bool) (string, error) {
			ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sts.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
		parameterStoreAPI: func(region string, fips, dualStack bool) (string, error) {
			ep, err := ssm.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ssm.EndpointParameters{
				Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dualStack)})
			return ep.URI.String(), err
		},
	}
	for s, resolve := range sdk {
		for _, region := range regions {
			for _, v := range []endpointVariant{{}, {fips: true}, {dualStack: true}, {fips: true, dualStack: true}} {
				want, err := resolve(region, v.fips, v.dualStack)
				if err != nil {
					t.Fatalf("the SDK's %s resolver, %s %+v: %v", s.name, region, v, err)
				}
				got, err := endpointURL(s, region, nil, v)
				if err != nil || got != want {
					t.Errorf("%s %s %+v: %q, %v; the SDK resolves %q", s.name, region, v, got, err, want)
				}
			}
		}
	}
}

// TestEndpointURLOverride: an override is used as it is written, and
// cannot be combined with a variant, as in the SDKs.
func TestEndpointURLOverride(t *testing.T) {
	override := aws.String("http://127.0.0.1:5000/path")
	if got, err := endpointURL(secretsManagerAPI, "us-east-1", override, endpointVariant{}); err != nil || got != *override {
		t.Errorf("override: %q, %v", got, err)
	}
	for _, v := range []endpointVariant{{fips: true}, {dualStack: true}} {
		if _, err := endpointURL(parameterStoreAPI, "us-east-1", override, v); !errors.Is(err, errCustomEndpointVariant) {
			t.Errorf("override with %+v: %v, want errCustomEndpointVariant", v, err)
		}
	}
}

// TestEndpointURLBadRegion: a region that cannot be a host name is refused
// with a message that says what to set, not sent to a made-up host.
func TestEndpointURLBadRegion(t *testing.T) {
	for _, region := range []string{"", "us east 1", "us-east-1.evil.example", "-us-east-1", "us-east-1/", "ünï-1"} {
		if got, err := endpointURL(secretsManagerAPI, region, nil, endpointVariant{}); err == nil {
			t.Errorf("region %q: %q, want an error", region, got)
		}
	}
}

// TestServiceEndpointOverrides: each service's own variable
// (AWS_ENDPOINT_URL_SECRETS_MANAGER, _SSM, _STS) reaches its calls in
// either build, over AWS_ENDPOINT_URL, which stands in for each.
func TestServiceEndpointOverrides(t *testing.T) {
	setenvFor(t, "http://127.0.0.1:1")
	for _, s := range []service{secretsManagerAPI, parameterStoreAPI, stsAPI} {
		own := "AWS_ENDPOINT_URL_" + s.endpointID
		for _, tc := range []struct{ general, own, want string }{
			{"", "http://127.0.0.1:7000", "http://127.0.0.1:7000"},
			{"http://127.0.0.1:5000", "http://127.0.0.1:7000", "http://127.0.0.1:7000"},
			{"http://127.0.0.1:5000", "", "http://127.0.0.1:5000"},
			{"", "", "https://" + s.prefix + ".eu-west-1.amazonaws.com"},
		} {
			for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"} {
				os.Unsetenv(name)
			}
			if tc.general != "" {
				t.Setenv("AWS_ENDPOINT_URL", tc.general)
			}
			if tc.own != "" {
				t.Setenv(own, tc.own)
			}
			a, err := LoadAWS(t.Context(), os.LookupEnv, nil)
			if err != nil {
				t.Fatal(err)
			}
			endpoint := a.Config.BaseEndpoint
			a.endpoint(s.endpointID, &endpoint)
			got, err := endpointURL(s, "eu-west-1", endpoint, a.variant)
			if err != nil || got != tc.want {
				t.Errorf("AWS_ENDPOINT_URL=%q %s=%q: %s at %q (%v), want %q", tc.general, own, tc.own, s.name, got, err, tc.want)
			}
		}
	}
}

// TestEndpointVariantFromTheEnvironment: AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT choose the endpoints reads go to, in either
// build, and a value that is neither true nor false is refused.
func TestEndpointVariantFromTheEnvironment(t *testing.T) {
	setenvFor(t, "http://127.0.0.1:1")
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"} {
		os.Unsetenv(name)
	}
	for _, tc := range []struct {
		fips, dualStack string
		want            string
	}{
		{"", "", "https://secretsmanager.us-gov-west-1.amazonaws.com"},
		{"true", "", "https://secretsmanager-fips.us-gov-west-1.amazonaws.com"},
		{"TRUE", "false", "https://secretsmanager-fips.us-gov-west-1.amazonaws.com"},
		{"false", "true", "https://secretsmanager.us-gov-west-1.amazonaws.com"},
		{"yes", "", ""},
		{"", "1", ""},
	} {
		t.Setenv("AWS_USE_FIPS_ENDPOINT", tc.fips)
		t.Setenv("AWS_USE_DUALSTACK_ENDPOINT", tc.dualStack)
		a, err := LoadAWS(t.Context(), os.LookupEnv, nil)
		if tc.want == "" {
			if err == nil {
				t.Errorf("AWS_USE_FIPS_ENDPOINT=%q AWS_USE_DUALSTACK_ENDPOINT=%q accepted", tc.fips, tc.dualStack)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewClients(a, "us-gov-west-1", "test")
		if err != nil {
			t.Fatal(err)
		}
		req, _, err := c.signed(t.Context(), secretsManagerAPI, c.routeOf(Key{SecretID: "S"}), nil, nil, 0)
		if err != nil || req.url != tc.want {
			t.Errorf("AWS_USE_FIPS_ENDPOINT=%q AWS_USE_DUALSTACK_ENDPOINT=%q: %q, %v; want %q", tc.fips, tc.dualStack, req.url, err, tc.want)
		}
	}
}
