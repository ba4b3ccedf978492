package cache

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// LoadAWSConfig reads the AWS configuration the sources use: credentials,
// region and endpoints, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL included. The default build
// reads the SDK's whole chain (shared files and profiles, SSO, web
// identity, container and instance credentials), for sidecar users; the
// layer build (tag lambda) reads only what Lambda provides and links no
// more, which keeps every cold start of every function that carries the
// layer shorter. Either way the SDK's retries are off: ours (withRetries)
// report the error that made them retry, where the SDK's would sleep
// through the fetch timeout and report only "canceled".
//
// onRequest, if set, is called for every HTTP request sent, retries
// included.
func LoadAWSConfig(ctx context.Context, onRequest func()) (aws.Config, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if onRequest != nil {
		inner := cfg.HTTPClient
		if inner == nil {
			inner = awshttp.NewBuildableClient()
		}
		cfg.HTTPClient = countingClient{inner: inner, count: onRequest}
	}
	return cfg, nil
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
