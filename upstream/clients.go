package upstream

import (
	"cmp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// Clients is what reads go through: the regions they go to, the
// function's credentials and those of each role it reads under, each
// role's made on first use.
type Clients struct {
	aws           awsconfig.AWS
	secretsRegion string // where a secret named without an ARN is read
	paramsRegion  string // where a parameter named without an ARN is read
	sessionName   string
	userAgent     string
	now           func() time.Time
	baseRenewable interface{ Invalidate() } // the function's own credentials, when they can be renewed
	mu            sync.Mutex
	roles         map[string]*awsconfig.Renewing // by role ARN
	renewal       credentialRenewal
	retryer       *retry.Standard // its token bucket is every read's
	skew          *clockSkew      // AWS's clock against this host's
}

// route is where a read goes: a region, and the role it is made under
// (empty: the function's own credentials).
type route struct{ region, role string }

// NewClients prepares the clients of a: secrets are read in secretsRegion
// (else a's region), parameters in a's region (else secretsRegion), and
// either in the region an ARN names. Roles are assumed in sessions named
// sessionName. With no region at all it returns ErrNoRegion.
func NewClients(a awsconfig.AWS, secretsRegion, sessionName string) (*Clients, error) {
	c := &Clients{
		aws:           a,
		secretsRegion: firstNonEmpty(secretsRegion, a.Config.Region),
		paramsRegion:  firstNonEmpty(a.Config.Region, secretsRegion),
		sessionName:   sessionNameFor(sessionName),
		userAgent:     cmp.Or(a.UserAgent, defaultUserAgent),
		now:           func() time.Time { return time.Now().Round(0) },
		roles:         map[string]*awsconfig.Renewing{},
		retryer:       newRetryer(),
		skew:          new(clockSkew),
	}
	if c.secretsRegion == "" {
		return nil, ErrNoRegion
	}
	c.baseRenewable, _ = a.Config.Credentials.(interface{ Invalidate() })
	return c, nil
}

// routeOf is where a read of key goes.
func (c *Clients) routeOf(key item.Key) route {
	region, id := c.secretsRegion, ""
	switch k := key.(type) {
	case item.SecretKey:
		id = k.ID
	case item.ParameterKey:
		region, id = c.paramsRegion, k.Name
	case item.PathKey:
		region = c.paramsRegion
	}
	scope := item.ScopeOf(key)
	if scope.Region != "" {
		region = scope.Region
	}
	if r := item.RegionOf(id); r != "" {
		region = r
	}
	return route{region: region, role: scope.RoleARN}
}

// roleCredentials are the kept credentials of role; c.mu is held.
func (c *Clients) roleCredentials(role string) *awsconfig.Renewing {
	if r, ok := c.roles[role]; ok {
		return r
	}
	r := awsconfig.NewRenewing(&assumeRole{
		role:    role,
		session: c.sessionName,
		// STS's regional endpoint, in the function's own region.
		region:    c.paramsRegion,
		endpoint:  func() (string, error) { return c.endpointOf(awsconfig.STS, c.paramsRegion) },
		base:      c.aws.Config.Credentials,
		client:    c.aws.Config.HTTPClient,
		now:       c.now,
		skew:      c.skew,
		userAgent: c.userAgent,
	}, c.now)
	c.roles[role] = r
	return r
}

// endpointOf is the URL of s's endpoint for region: the configured
// override of s (or of every service), else the endpoint AWS publishes for
// the region in the configured variant.
func (c *Clients) endpointOf(s awsconfig.Service, region string) (string, error) {
	endpoint := c.aws.Config.BaseEndpoint
	c.aws.Endpoint(s.EndpointID, &endpoint)
	return awsconfig.EndpointURL(s, region, endpoint, c.aws.Variant)
}

// renew drops the credentials key's reads were signed with, so that the
// next read fetches new ones: AWS answered that they had expired.
func (c *Clients) renew(role string) {
	c.mu.Lock()
	r := c.roles[role]
	c.mu.Unlock()
	switch {
	case role != "" && r != nil:
		r.Invalidate()
	case role == "" && c.baseRenewable != nil:
		c.baseRenewable.Invalidate()
	}
}

// sessionNameFor makes an STS session name of a function's name: at most
// 64 characters of [\w+=,.@-], so that CloudTrail shows which function
// read under the role.
func sessionNameFor(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			return r
		}
		return '-'
	}, "starfleet-secrets-"+firstNonEmpty(name, "local"))
	return name[:min(len(name), 64)]
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
