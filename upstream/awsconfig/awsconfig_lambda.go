//go:build lambda

package awsconfig

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/starfleet/starfleet-secrets/upstream/tlsroots"
)

// loadAWS builds the configuration from what Lambda provides.
func loadAWS(_ context.Context, lookup func(string) (string, bool)) (AWS, error) {
	cfg, err := lambdaConfig(lookup)
	if err != nil {
		return AWS{}, err
	}
	variant, err := endpointVariantOf(trimmed(lookup))
	if err != nil {
		return AWS{}, err
	}
	return AWS{Config: cfg, endpoints: serviceEndpoints(trimmed(lookup)), Variant: variant}, nil
}

// endpointVariantOf is AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT: true or false, as the SDKs read them.
func endpointVariantOf(get func(string) string) (Variant, error) {
	var v Variant
	for name, set := range map[string]*bool{"AWS_USE_FIPS_ENDPOINT": &v.FIPS, "AWS_USE_DUALSTACK_ENDPOINT": &v.DualStack} {
		switch value := get(name); {
		case strings.EqualFold(value, "true"):
			*set = true
		case value != "" && !strings.EqualFold(value, "false"):
			return Variant{}, fmt.Errorf("%s=%q: want true or false", name, value)
		}
	}
	return v, nil
}

// trimmed reads a variable through lookup, without surrounding spaces.
func trimmed(lookup func(string) (string, bool)) func(string) string {
	return func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
}

// lambdaConfig is the configuration a Lambda function's environment
// describes: the region from AWS_REGION, credentials from the environment
// (on-demand, provisioned concurrency) or from the container credentials
// endpoint (SnapStart, Managed Instances), and the endpoint overrides.
func lambdaConfig(lookup func(string) (string, bool)) (aws.Config, error) {
	get := trimmed(lookup)
	client, err := httpClient(get("AWS_CA_BUNDLE"))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg := aws.Config{
		Region:     cmp.Or(get("AWS_REGION"), get("AWS_DEFAULT_REGION")),
		HTTPClient: client,
	}
	if !ignoreEndpoints(get) {
		if u := get("AWS_ENDPOINT_URL"); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
	}
	creds, err := lambdaCredentials(get)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg.Credentials = creds
	return cfg, nil
}

// httpClient is the SDK's HTTP client, trusting the certificates of the
// PEM file caBundle instead of the system's when it is set
// (AWS_CA_BUNDLE), as the SDKs do: a function behind a TLS-inspecting
// proxy names the proxy's authority so. The system's roots are loaded
// lazily (see tlsroots.Lazy): the cold start's first fetch is the one
// handshake that pays for loading them.
func httpClient(caBundle string) (aws.HTTPClient, error) {
	client := awshttp.NewBuildableClient()
	if caBundle == "" {
		return client.WithTransportOptions(new(tlsroots.Lazy).Apply), nil
	}
	pem, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE=%s: no PEM certificate in the file", caBundle)
	}
	return client.WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = roots
	}), nil
}

// lambdaCredentials picks the provider Lambda's environment calls for.
func lambdaCredentials(get func(string) string) (aws.CredentialsProvider, error) {
	if id, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, get("AWS_SESSION_TOKEN")), nil
	}
	endpoint := get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); endpoint == "" && rel != "" {
		endpoint = "http://169.254.170.2" + rel
	}
	if endpoint == "" {
		return nil, errors.New("no credentials: Lambda sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_CONTAINER_CREDENTIALS_FULL_URI; outside Lambda use the default build, which reads profiles, SSO and instance roles too")
	}
	if err := checkCredentialsEndpoint(endpoint); err != nil {
		return nil, err
	}
	token, tokenFile := get("AWS_CONTAINER_AUTHORIZATION_TOKEN"), get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	provider := endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		if tokenFile != "" {
			// Read at every retrieval: the file is rotated under the process.
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return "", fmt.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
				}
				return strings.TrimSpace(string(b)), nil
			})
		}
	})
	return NewRenewing(provider, nil), nil
}

// checkCredentialsEndpoint refuses to send the authorization token in the
// clear anywhere but to the loopback interface or the container
// credentials addresses Lambda and ECS use, as the SDK does.
func checkCredentialsEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme != "http" {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: scheme %s, want http or https", strconv.Quote(u.Scheme))
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" || ip != nil && (ip.IsLoopback() || ip.Equal(net.ParseIP("169.254.170.2")) ||
		ip.Equal(net.ParseIP("169.254.170.23")) || ip.Equal(net.ParseIP("fd00:ec2::23"))) {
		return nil
	}
	return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to the loopback or the container credentials addresses")
}

// ignoreEndpoints is AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func ignoreEndpoints(get func(string) string) bool {
	ignore, _ := strconv.ParseBool(get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
	return ignore
}

// serviceEndpoints are the Services' own endpoint overrides,
// AWS_ENDPOINT_URL_<ID>, which win over AWS_ENDPOINT_URL.
func serviceEndpoints(get func(string) string) map[string]string {
	if ignoreEndpoints(get) {
		return nil
	}
	endpoints := make(map[string]string)
	for _, s := range Services {
		if url := get("AWS_ENDPOINT_URL_" + s.EndpointID); url != "" {
			endpoints[s.EndpointID] = url
		}
	}
	return endpoints
}
