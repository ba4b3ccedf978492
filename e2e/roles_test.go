package e2e

// Other accounts and regions: reads under an assumed role (moto keeps one
// store per account, by the signing credentials, as AWS keeps accounts
// apart), and ARNs that name another region.

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const (
	readerRole = "arn:aws:iam::111122223333:role/reader"
	otherRole  = "arn:aws:iam::444455556666:role/other"
)

// inRoleAccount is a Secrets Manager client of role's account, straight to
// moto: it sets up what the extension will read under the role.
func inRoleAccount(t *testing.T, role string) *secretsmanager.Client {
	t.Helper()
	stsClient := sts.New(sts.Options{Region: upstreamtest.Region, BaseEndpoint: aws.String(e2e.moto.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, "")})
	out, err := stsClient.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("e2e-setup")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return upstreamtest.Client(e2e.moto.URL(), func(o *secretsmanager.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	})
}

// TestReadsUnderAnAssumedRole: a read naming an allowed role goes upstream
// signed by the role's credentials and finds the role account's secret; a
// read without one is signed by the function's key and never shares the
// role's cache entry; a role outside the list is refused before any call;
// concurrent first reads under a role assume it once.
func TestReadsUnderAnAssumedRole(t *testing.T) {
	resetMoto(t, starfleetSecret)
	shared := inRoleAccount(t, readerRole)
	for i := range 6 {
		if _, err := shared.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
			Name: aws.String(fmt.Sprintf("shared/db-%d", i)), SecretString: aws.String(fmt.Sprintf("shared-value-%d-Qx7", i)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	l := start(t, withEnv("STARFLEET_SECRETS_ROLES="+readerRole, "AWS_LAMBDA_FUNCTION_NAME=roles-fn",
		"STARFLEET_SECRETS_PREFETCH=shared/db-0;role="+readerRole))
	l.waitInit()
	if n := l.proxy.Count("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls for the prefetch entry, want 1", n)
	}
	role := "&roleArn=" + url.QueryEscape(readerRole)

	// Without the role: the function's own account has no such secret.
	if a := l.get("GET", "/secretsmanager/get?secretId=shared/db-0"); a.status != 502 || !strings.Contains(a.body, "ResourceNotFoundException") {
		t.Errorf("without the role: %d %s, want 502 ResourceNotFoundException", a.status, a.body)
	}
	// With it: the prefetched value, from memory.
	if a := l.get("GET", "/secretsmanager/get?secretId=shared/db-0"+role); a.status != 200 || !strings.Contains(a.body, "shared-value-0-Qx7") {
		t.Errorf("under the role: %d %s", a.status, a.body)
	}
	// Concurrent first reads of the role account's other secrets.
	var wg sync.WaitGroup
	for i := 1; i < 6; i++ {
		wg.Go(func() {
			a, err := l.try(t.Context(), "GET", fmt.Sprintf("/secretsmanager/get?secretId=shared/db-%d%s", i, role))
			if err != nil || a.status != 200 || !strings.Contains(a.body, fmt.Sprintf("shared-value-%d-Qx7", i)) {
				t.Errorf("concurrent read %d under the role: %v %d %s", i, err, a.status, a.body)
			}
		})
	}
	wg.Wait()
	if n := l.proxy.Count("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1: the role's credentials are kept", n)
	}
	for _, sig := range l.proxy.Signatures("GetSecretValue") {
		switch {
		case sig.AccessKeyID == upstreamtest.AccessKeyID:
		case strings.HasPrefix(sig.AccessKeyID, "ASIA"): // the assumed role's
		default:
			t.Errorf("a read signed by %q, neither the function's key nor the role's", sig.AccessKeyID)
		}
	}
	if got := signedBy(l.proxy.Signatures("GetSecretValue"), "ASIA"); got != 6 {
		t.Errorf("%d reads signed by the role, want 6 (the prefetch and five first reads)", got)
	}
	if got := signedBy(l.proxy.Signatures("GetSecretValue"), upstreamtest.AccessKeyID); got != 2 {
		t.Errorf("%d reads signed by the function's key, want 2 (the Starfleet secret and the miss)", got)
	}

	// A role outside the list is refused before any upstream call.
	before := l.proxy.Count("")
	a := l.get("GET", "/secretsmanager/get?secretId=shared/db-0&roleArn="+url.QueryEscape(otherRole))
	if code, msg := errorBody(t, a); a.status != 403 || code != "RoleNotAllowed" || !strings.Contains(msg, "STARFLEET_SECRETS_ROLES") {
		t.Errorf("another role: %d %s", a.status, a.body)
	}
	if n := l.proxy.Count("") - before; n != 0 {
		t.Errorf("%d upstream calls for a refused role, want 0", n)
	}
	if a := l.get("GET", "/systemsmanager/parameters/get?name=/x&roleArn="+url.QueryEscape(otherRole)); a.status != 403 {
		t.Errorf("another role on the parameter route: %d %s", a.status, a.body)
	}
	assertNoLeak(t, l, []string{"shared-value-0-Qx7"})
}

func signedBy(sigs []upstreamtest.Signature, prefix string) int {
	n := 0
	for _, s := range sigs {
		if strings.HasPrefix(s.AccessKeyID, prefix) {
			n++
		}
	}
	return n
}

// TestARNsNameTheirRegion: a secret or parameter named by an ARN in
// another region is read from that region.
func TestARNsNameTheirRegion(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const west = "us-west-2"
	created, err := upstreamtest.Client(e2e.moto.URL(), func(o *secretsmanager.Options) { o.Region = west }).CreateSecret(t.Context(),
		&secretsmanager.CreateSecretInput{Name: aws.String("regional"), SecretString: aws.String("west-value-Lp3")})
	if err != nil {
		t.Fatal(err)
	}
	westSSM := ssm.New(ssm.Options{Region: west, BaseEndpoint: aws.String(e2e.moto.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, "")})
	if _, err := westSSM.PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String("/west/flag"),
		Value: aws.String("west-flag-Ty5"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	param, err := westSSM.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/west/flag")})
	if err != nil {
		t.Fatal(err)
	}
	l := start(t)
	l.waitInit()
	if a := l.get("GET", "/secretsmanager/get?secretId="+url.QueryEscape(*created.ARN)); a.status != 200 || !strings.Contains(a.body, "west-value-Lp3") {
		t.Errorf("secret ARN in %s: %d %s", west, a.status, a.body)
	}
	if a := l.get("GET", "/systemsmanager/parameters/get?name="+url.QueryEscape(*param.Parameter.ARN)); a.status != 200 || !strings.Contains(a.body, "west-flag-Ty5") {
		t.Errorf("parameter ARN in %s: %d %s", west, a.status, a.body)
	}
	for _, op := range []string{"GetSecretValue", "GetParameter"} {
		sigs := l.proxy.Signatures(op)
		if len(sigs) == 0 || sigs[len(sigs)-1].Region != west {
			t.Errorf("%s signed for %+v, want the last in %s", op, sigs, west)
		}
	}
	if sigs := l.proxy.Signatures("GetSecretValue"); sigs[0].Region != upstreamtest.Region {
		t.Errorf("the Starfleet secret was read in %s, want the function's %s", sigs[0].Region, upstreamtest.Region)
	}
}
