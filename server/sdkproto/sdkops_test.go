package sdkproto

import (
	"testing"

	"github.com/starfleet/starfleet-secrets/upstream"
)

// TestStaleAfter: a write drops exactly the cached values it may have
// changed.
func TestStaleAfter(t *testing.T) {
	db := &upstream.Value{Name: "db", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}
	other := &upstream.Value{Name: "other", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"}
	param := &upstream.Value{Name: "/app/a", ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/app/a"}
	cases := []struct {
		target, body string
		key          upstream.Key
		value        *upstream.Value
		want         bool
	}{
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, upstream.Key{SecretID: "db"}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, upstream.Key{SecretID: db.ARN}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}`, upstream.Key{SecretID: "db"}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, upstream.Key{SecretID: "other"}, other, false},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, upstream.Key{Parameter: "/app/a"}, param, false},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, upstream.Key{Parameter: upstream.ReferencePrefix + "x"}, param, true},
		{"secretsmanager.CreateSecret", `{"Name":"db"}`, upstream.Key{SecretID: "db"}, db, true},
		{"secretsmanager.UpdateSecretVersionStage", `not json`, upstream.Key{SecretID: "other"}, other, true},
		{"secretsmanager.DescribeSecret", `{"SecretId":"db"}`, upstream.Key{SecretID: "db"}, db, false},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, upstream.Key{Parameter: "/app/a:3"}, param, true},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, upstream.Key{Parameter: "/app/b"}, &upstream.Value{Name: "/app/b"}, false},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, upstream.Key{Path: "/other"}, &upstream.Value{}, true},
		{"AmazonSSM.DeleteParameters", `{"Names":["/x","/app/a"]}`, upstream.Key{Parameter: "/app/a"}, param, true},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, upstream.Key{SecretID: "db"}, db, false},
		{"AmazonSSM.GetParameterHistory", `{"Name":"/app/a"}`, upstream.Key{Parameter: "/app/a"}, param, false},
	}
	for _, c := range cases {
		stale := staleAfter(c.target, []byte(c.body))
		if got := stale != nil && stale(c.key, c.value); got != c.want {
			t.Errorf("after %s %s, %+v stale = %v, want %v", c.target, c.body, c.key, got, c.want)
		}
	}
}
