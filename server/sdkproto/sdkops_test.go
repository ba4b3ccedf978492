package sdkproto

import (
	"testing"

	"github.com/starfleet/starfleet-secrets/item"
)

// TestStaleAfter: a write drops exactly the cached values it may have
// changed.
func TestStaleAfter(t *testing.T) {
	db := &item.Value{Name: "db", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}
	other := &item.Value{Name: "other", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"}
	param := &item.Value{Name: "/app/a", ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/app/a"}
	cases := []struct {
		target, body string
		key          item.Key
		value        *item.Value
		want         bool
	}{
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, item.SecretKey{ID: "db"}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, item.SecretKey{ID: db.ARN}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}`, item.SecretKey{ID: "db"}, db, true},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, item.SecretKey{ID: "other"}, other, false},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, item.ParameterKey{Name: "/app/a"}, param, false},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db"}`, item.ParameterKey{Name: item.ReferencePrefix + "x"}, param, true},
		{"secretsmanager.CreateSecret", `{"Name":"db"}`, item.SecretKey{ID: "db"}, db, true},
		{"secretsmanager.UpdateSecretVersionStage", `not json`, item.SecretKey{ID: "other"}, other, true},
		{"secretsmanager.DescribeSecret", `{"SecretId":"db"}`, item.SecretKey{ID: "db"}, db, false},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, item.ParameterKey{Name: "/app/a:3"}, param, true},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, item.ParameterKey{Name: "/app/b"}, &item.Value{Name: "/app/b"}, false},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, item.PathKey{Path: "/other"}, &item.Value{}, true},
		{"AmazonSSM.DeleteParameters", `{"Names":["/x","/app/a"]}`, item.ParameterKey{Name: "/app/a"}, param, true},
		{"AmazonSSM.PutParameter", `{"Name":"/app/a"}`, item.SecretKey{ID: "db"}, db, false},
		{"AmazonSSM.GetParameterHistory", `{"Name":"/app/a"}`, item.ParameterKey{Name: "/app/a"}, param, false},
	}
	for _, c := range cases {
		stale := staleAfter(c.target, []byte(c.body))
		if got := stale != nil && stale(c.key, c.value); got != c.want {
			t.Errorf("after %s %s, %+v stale = %v, want %v", c.target, c.body, c.key, got, c.want)
		}
	}
}
