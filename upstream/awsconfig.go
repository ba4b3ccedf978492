package upstream

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// AWS is what every client is built from: credentials, region and
// endpoints.
type AWS struct {
	Config aws.Config
	// endpoints holds services' own endpoint overrides
	// (AWS_ENDPOINT_URL_<ID>) by service id, where this build resolves
	// them itself; the SDK's chain resolves them in the default build.
	endpoints map[string]string
}

// endpoint applies a service's own endpoint override, if any, to a
// client's BaseEndpoint.
func (a AWS) endpoint(id string, base **string) {
	if url := a.endpoints[id]; url != "" {
		*base = aws.String(url)
	}
}

// LoadAWS reads the AWS configuration the sources use: credentials,
// region and endpoints, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL included. The default build
// reads the SDK's whole chain (shared files and profiles, SSO, web
// identity, container and instance credentials), for sidecar users; the
// layer build (tag lambda) reads only what Lambda provides, through lookup,
// and links no more, which keeps every cold start of every function that
// carries the layer shorter. Either way the SDK's retries are off: ours
// (withRetries) report the error that made them retry, where the SDK's
// would sleep through the fetch timeout and report only "canceled".
//
// onRequest, if set, is called for every HTTP request sent, retries
// included.
func LoadAWS(ctx context.Context, lookup func(string) (string, bool), onRequest func()) (AWS, error) {
	a, err := loadAWS(ctx, lookup)
	if err != nil {
		return AWS{}, err
	}
	a.Config.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if onRequest != nil {
		inner := a.Config.HTTPClient
		if inner == nil {
			inner = awshttp.NewBuildableClient()
		}
		a.Config.HTTPClient = countingClient{inner: inner, count: onRequest}
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
