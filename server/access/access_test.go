package access

import (
	"testing"

	"github.com/starfleet/starfleet-secrets/item"
)

const starfleetARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Starfleet-AbCdEf"

var (
	starfleet = &item.Value{Name: "prod/Starfleet", ARN: starfleetARN}
	other     = &item.Value{Name: "db", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-XyZxYz"}
	reference = &item.Value{Name: item.ReferencePrefix + "prod/Starfleet",
		Parameter: &item.ParameterMeta{SourceResult: `{"ARN":"` + starfleetARN + `","Name":"prod/Starfleet"}`}}
	otherReference = &item.Value{Name: item.ReferencePrefix + "db",
		Parameter: &item.ParameterMeta{SourceResult: `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-XyZxYz"}`}}
	// The reference as moto answers it: the secret's own name.
	nameOnly = &item.Value{Name: "prod/Starfleet", Parameter: &item.ParameterMeta{SourceResult: `{"Name":"prod/Starfleet"}`}}
	// A reference answered without its SourceResult: the name asked for
	// still says which secret it is.
	noSource       = &item.Value{Name: item.ReferencePrefix + "prod/Starfleet", Parameter: &item.ParameterMeta{}}
	plainParameter = &item.Value{Name: "prod/Starfleet", Parameter: &item.ParameterMeta{}}
)

func TestPolicy(t *testing.T) {
	limited := New("prod/Starfleet", []string{"GitHubSyncWorker"}, []string{"arn:aws:iam::123456789012:role/reader"})
	open := New(starfleetARN, nil, []string{"*"})
	noRoles := New("prod/Starfleet", nil, nil)
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"limited: Limited", limited.Limited(), true},
		{"open: Limited", open.Limited(), false},
		{"limited: an allowed slice", limited.MayReadSlice("GitHubSyncWorker"), true},
		{"limited: another slice", limited.MayReadSlice("STARFLEET"), false},
		{"open: any slice", open.MayReadSlice("STARFLEET"), true},
		{"limited: a listed role", limited.MayAssume("arn:aws:iam::123456789012:role/reader"), true},
		{"limited: another role", limited.MayAssume("arn:aws:iam::123456789012:role/admin"), false},
		{"open: any role with *", open.MayAssume("arn:aws:iam::123456789012:role/admin"), true},
		{"no roles listed: none", noRoles.MayAssume("arn:aws:iam::123456789012:role/reader"), false},
		{"limited: the Starfleet secret whole", limited.RefusesWhole("prod/Starfleet", starfleet), true},
		{"limited: the Starfleet secret by its ARN", limited.RefusesWhole(starfleetARN, starfleet), true},
		{"limited: another secret", limited.RefusesWhole("db", other), false},
		{"limited: the reference to the Starfleet secret", limited.RefusesWhole(reference.Name, reference), true},
		{"limited: the reference, answered under the secret's name", limited.RefusesWhole(reference.Name, nameOnly), true},
		{"limited: the reference, answered with no source", limited.RefusesWhole(reference.Name, noSource), true},
		{"limited: a reference to another secret", limited.RefusesWhole(otherReference.Name, otherReference), false},
		{"limited: a parameter named like the secret, no reference", limited.RefusesWhole("prod/Starfleet", plainParameter), false},
		{"limited: nothing read", limited.RefusesWhole("prod/Starfleet", nil), false},
		{"open: the Starfleet secret whole", open.RefusesWhole("prod/Starfleet", starfleet), false},
		{"open: its reference", open.RefusesWhole(reference.Name, reference), false},
		{"limited: forwarding a read of values", limited.MayForward(true), false},
		{"limited: forwarding a write", limited.MayForward(false), true},
		{"open: forwarding a read of values", open.MayForward(true), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %t, want %t", tc.name, tc.got, tc.want)
		}
	}
}

// TestPolicyByPartialARN: a Starfleet secret configured by its partial
// ARN is recognised in the answer's full ARN.
func TestPolicyByPartialARN(t *testing.T) {
	p := New("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Starfleet", []string{"A"}, nil)
	if !p.RefusesWhole("x", starfleet) {
		t.Error("the Starfleet secret, configured by its partial ARN, was not refused whole")
	}
}

// TestPolicySplitLayout: with each slice its own secret, another slice's
// secret, or its Parameter Store reference, is refused whole; the allowed
// slice's is not, nor anything without an allow-list.
func TestPolicySplitLayout(t *testing.T) {
	split := New("Starfleet", []string{"GitHubSyncWorker"}, nil).WithSlicePrefix("Starfleet/")
	open := New("Starfleet", nil, nil).WithSlicePrefix("Starfleet/")
	slack := &item.Value{Name: "Starfleet/STARFLEET"}
	github := &item.Value{Name: "Starfleet/GitHubSyncWorker"}
	slackRef := &item.Value{Name: item.ReferencePrefix + "Starfleet/STARFLEET", Parameter: &item.ParameterMeta{SourceResult: `{"Name":"Starfleet/STARFLEET"}`}}
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"another slice's secret", split.RefusesWhole("Starfleet/STARFLEET", slack), true},
		{"the allowed slice's secret", split.RefusesWhole("Starfleet/GitHubSyncWorker", github), false},
		{"another slice's reference", split.RefusesWhole(slackRef.Name, slackRef), true},
		{"the prefix alone", split.RefusesWhole("Starfleet/", &item.Value{Name: "Starfleet/"}), false},
		{"another secret", split.RefusesWhole("db", other), false},
		{"no allow-list", open.RefusesWhole("Starfleet/STARFLEET", slack), false},
		{"asking for another slice's secret", split.RefusesRequest("Starfleet/STARFLEET"), true},
		{"asking for it by its ARN", split.RefusesRequest("arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet/STARFLEET-AbCdEf"), true},
		{"asking for it by its partial ARN", split.RefusesRequest("arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet/STARFLEET"), true},
		{"asking for the allowed slice's", split.RefusesRequest("Starfleet/GitHubSyncWorker"), false},
		{"asking for the allowed slice's by ARN", split.RefusesRequest("arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet/GitHubSyncWorker-AbCdEf"), false},
		{"asking for another secret", split.RefusesRequest("db"), false},
		{"asking without an allow-list", open.RefusesRequest("Starfleet/STARFLEET"), false},
		{"asking in one secret's layout", New("Starfleet", []string{"GitHubSyncWorker"}, nil).RefusesRequest("Starfleet/STARFLEET"), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %t, want %t", tc.name, tc.got, tc.want)
		}
	}
}
