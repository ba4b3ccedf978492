package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// Call is one request of a service's own JSON protocol that the extension
// does not answer itself: it is passed to the service as the caller wrote
// it, signed again with the extension's credentials.
type Call struct {
	Service     string // item.ServiceSecretsManager or item.ServiceParameterStore
	Region      string // the region the caller signed for
	Target      string // X-Amz-Target, "secretsmanager.PutSecretValue"
	ContentType string
	Body        []byte
}

// Answer is what the service answered a Call, unchanged.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxAnswer bounds a forwarded answer held in memory: List and Describe
// pages are far smaller.
const maxAnswer = 16 << 20

// forwardedHeaders are the answer's headers passed back to the caller.
var forwardedHeaders = []string{"Content-Type", "X-Amzn-Requestid", "X-Amzn-Query-Error", "X-Amzn-Errortype"}

// Forward sends call to its service in its region, signed with the
// credentials reads without a role use, and returns the answer whatever
// its status. It does not retry: the caller's SDK retries what it sees
// fail, and a write must not be sent twice behind its back. Its error is
// a failure to get any answer.
func (c *Clients) Forward(ctx context.Context, call Call) (*Answer, error) {
	s, err := forwardedService(call.Service)
	if err != nil {
		return nil, err
	}
	// Signed with the function's own credentials, for the region the
	// caller signed for.
	req, creds, err := c.signed(ctx, s, route{region: call.Region},
		http.Header{"Content-Type": {call.ContentType}, "X-Amz-Target": {call.Target}}, call.Body, maxAnswer)
	if err != nil {
		return nil, err
	}
	x, err := req.send(ctx, c.aws.Config.HTTPClient, creds)
	switch {
	case err != nil:
		return nil, err
	case x.readErr != nil:
		return nil, fmt.Errorf("%s: reading the answer: %w", call.Service, x.readErr)
	case len(x.answer) > maxAnswer:
		return nil, fmt.Errorf("%s: the answer is larger than %d bytes", call.Service, maxAnswer)
	}
	answer := &Answer{Status: x.resp.StatusCode, Header: http.Header{}, Body: x.answer}
	for _, name := range forwardedHeaders {
		if v, ok := x.resp.Header[name]; ok {
			answer.Header[name] = v
		}
	}
	return answer, nil
}

// forwardedService is the service a Call names.
func forwardedService(name string) (awsconfig.Service, error) {
	switch name {
	case item.ServiceSecretsManager:
		return awsconfig.SecretsManager, nil
	case item.ServiceParameterStore:
		return awsconfig.ParameterStore, nil
	}
	return awsconfig.Service{}, errors.New("no such service: " + name)
}

// Credentials are the credentials reads without a role are signed with:
// in Lambda the function's own, which its SDK signs with too.
func (c *Clients) Credentials(ctx context.Context) (aws.Credentials, error) {
	return c.aws.Config.Credentials.Retrieve(ctx)
}

// renewInterval bounds how often RenewCredentials drops the kept
// credentials: a caller that signs with unknown keys in a loop must not
// make the extension ask the credentials endpoint each time.
const renewInterval = 30 * time.Second

// credentialRenewal remembers the last renewal RenewCredentials made.
type credentialRenewal struct {
	mu   sync.Mutex
	last time.Time
}

// RenewCredentials drops the function's kept credentials, at most once per
// renewInterval, and reports whether it did: a caller signed with keys the
// extension does not hold yet (the container endpoint rotated them, and the
// caller's SDK asked first).
func (c *Clients) RenewCredentials() bool {
	if c.baseRenewable == nil {
		return false
	}
	c.renewal.mu.Lock()
	defer c.renewal.mu.Unlock()
	now := c.now()
	if !c.renewal.last.IsZero() && now.Sub(c.renewal.last) < renewInterval {
		return false
	}
	c.renewal.last = now
	c.baseRenewable.Invalidate()
	return true
}

// HomeRegion is where a read of service (item.ServiceSecretsManager,
// item.ServiceParameterStore) goes when neither its caller nor an ARN names a
// region.
func (c *Clients) HomeRegion(service string) string {
	if service == item.ServiceParameterStore {
		return c.paramsRegion
	}
	return c.secretsRegion
}
