package awsconfig

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// AWS is what every client is built from: credentials, region and
// endpoints.
type AWS struct {
	Config aws.Config
	// endpoints holds Services' own endpoint overrides
	// (AWS_ENDPOINT_URL_<ID>, a profile's services section) by service
	// id.
	endpoints map[string]string
	// Variant is which of the services' endpoints are used.
	Variant Variant
	// UserAgent is the product token every request carries, which
	// CloudTrail records: "starfleet-secrets/VERSION". Empty means
	// "starfleet-secrets".
	UserAgent string
}

// endpoint applies a service's own endpoint override, if any, to a
// client's BaseEndpoint; an empty one means the service's own endpoint,
// whatever the SDK read.
func (a AWS) Endpoint(id string, base **string) {
	url, ok := a.endpoints[id]
	switch {
	case ok && url == "":
		*base = nil
	case ok:
		*base = aws.String(url)
	}
}

// IgnoreEndpointsAt drops every endpoint override that points at port on
// the loopback interface, the extension's own address, and returns the
// settings it ignored. A function's configuration reaches its extensions
// too: AWS_ENDPOINT_URL_SECRETS_MANAGER set (or a shared config profile's
// services section or endpoint_url written) so that the function's SDK
// reads through the extension would otherwise make the extension its own
// upstream. The overrides are judged as resolved, whichever source set
// them, and named by their variables; those that point elsewhere (an
// emulator) still hold, and a service's own override dropped gives way to
// the general one.
func (a *AWS) IgnoreEndpointsAt(port int) []string {
	var ignored []string
	if PointsAt(aws.ToString(a.Config.BaseEndpoint), port) {
		a.Config.BaseEndpoint = nil
		ignored = append(ignored, "AWS_ENDPOINT_URL")
	}
	for _, s := range Services {
		if url, ok := a.endpoints[s.EndpointID]; ok && PointsAt(url, port) {
			a.endpoints[s.EndpointID] = aws.ToString(a.Config.BaseEndpoint)
			ignored = append(ignored, "AWS_ENDPOINT_URL_"+s.EndpointID)
		}
	}
	return ignored
}

// PointsAt reports whether endpoint is an http URL of port on the
// loopback interface (localhost and its subdomains, 127.0.0.0/8, ::1, in
// any case, with or without the root's trailing dot) or the unspecified
// address.
func PointsAt(endpoint string, port int) bool {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.Host == "" {
		return false
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p != strconv.Itoa(port) {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	ip := net.ParseIP(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// LoadAWS reads the AWS configuration the sources use: credentials,
// region and endpoints, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL, AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT included. The default build reads the SDK's
// whole chain (shared files and profiles, SSO, web identity, container and
// instance credentials), for sidecar users; the layer build (tag lambda)
// reads only what Lambda provides, through lookup, and links no more,
// which keeps every cold start of every function that carries the layer
// shorter.
//
// onRequest, if set, is called for every HTTP request sent, retries
// included.
func LoadAWS(ctx context.Context, lookup func(string) (string, bool), onRequest func()) (AWS, error) {
	a, err := loadAWS(ctx, lookup)
	if err != nil {
		return AWS{}, err
	}
	if a.Config.HTTPClient == nil {
		a.Config.HTTPClient = awshttp.NewBuildableClient()
	}
	if onRequest != nil {
		a.Config.HTTPClient = countingClient{inner: a.Config.HTTPClient, count: onRequest}
	}
	return a, nil
}

// countingClient counts the requests the SDK sends.
type countingClient struct {
	inner aws.HTTPClient
	count func()
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	c.count()
	return c.inner.Do(r)
}
