package item

import (
	"strings"
	"testing"
)

func TestCheckRoleARN(t *testing.T) {
	for arn, ok := range map[string]bool{
		"arn:aws:iam::111122223333:role/reader":             true,
		"arn:aws-us-gov:iam::111122223333:role/path/reader": true,
		"arn:aws:iam::111122223333:user/alice":              false,
		"arn:aws:iam::1111:role/reader":                     false,
		"arn:aws:sts::111122223333:role/reader":             false,
		"arn:aws:iam::111122223333:role/":                   false,
		"arn:aws:iam::111122223333:role/re der":             false,
		"reader":                                            false,
	} {
		if err := CheckRoleARN(arn); (err == nil) != ok {
			t.Errorf("CheckRoleARN(%q) = %v", arn, err)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for id, want := range map[string]string{
		"arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf": "eu-west-1",
		"arn:aws:ssm:ap-south-1:111122223333:parameter/app/flag":         "ap-south-1",
		"Starfleet": "", "/app/flag": "", "arn:broken": "",
	} {
		if got := RegionOf(id); got != want {
			t.Errorf("RegionOf(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestHasSelector(t *testing.T) {
	for name, want := range map[string]bool{
		"/app/flag": false, "/app/flag:3": true, "/app:x/flag": false, "flag:label": true,
		"arn:aws:ssm:eu-west-1:111122223333:parameter/app/flag":   false,
		"arn:aws:ssm:eu-west-1:111122223333:parameter/app/flag:2": true,
	} {
		if got := HasSelector(name); got != want {
			t.Errorf("HasSelector(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsSecret(t *testing.T) {
	const name, arn = "db", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf"
	for id, want := range map[string]bool{
		name: true, arn: true, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db": true,
		"other": false, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:d": false, "db-AbCdEf": false,
	} {
		if got := IsSecret(id, name, arn); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestIsSecretName(t *testing.T) {
	for s, want := range map[string]bool{
		"Starfleet": true, "Starfleet/GitHubSyncWorker": true, "a_+=.@-/9": true,
		"": false, "Git Hub": false, "a,b": false, "é": false, strings.Repeat("a", MaxSecretNameLength+1): false,
	} {
		if got := IsSecretName(s); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", s, got, want)
		}
	}
}
