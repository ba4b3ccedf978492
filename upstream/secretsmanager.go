package upstream

import (
	"context"
	"fmt"

	"github.com/aws/smithy-go"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// SecretsManager reads secrets from AWS Secrets Manager.
type SecretsManager struct {
	clients *Clients
}

// NewSecretsManager reads secrets through clients.
func NewSecretsManager(clients *Clients) *SecretsManager {
	return &SecretsManager{clients: clients}
}

// GetSecretValue reads one version of one secret, in the region its ARN
// names and under its role, if any. Its errors are *item.Error.
func (s *SecretsManager) GetSecretValue(ctx context.Context, key item.SecretKey) (*item.Value, error) {
	v, err := s.clients.withRetries(ctx, item.ServiceSecretsManager, key, func() (*item.Value, error) { return s.getOnce(ctx, key) })
	return v, classified(item.ServiceSecretsManager, err)
}

// BatchGetSecretValue reads the current versions of up to item.MaxSecretBatch
// secrets, each named as it is called (a name or an ARN), in one call: the
// split layout's slices at INIT, where one call for many secrets makes a
// cold start's reads one round trip. Keys with a role, a version or a
// region other than the first's are not its to read. found and failed hold each key
// the service answered, a value or its own error; a key in neither went
// unanswered. err is the call's, which answered nothing. It does not
// retry: the cache reads what it lacks one by one.
func (s *SecretsManager) BatchGetSecretValue(ctx context.Context, keys []item.SecretKey) (found map[item.SecretKey]*item.Value, failed map[item.SecretKey]*item.Error, err error) {
	if len(keys) == 0 || len(keys) > item.MaxSecretBatch {
		return nil, nil, fmt.Errorf("BatchGetSecretValue of %d secrets: want 1 to %d", len(keys), item.MaxSecretBatch)
	}
	rt := s.clients.routeOf(keys[0])
	in := struct{ SecretIdList []string }{}
	for _, k := range keys {
		if s.clients.routeOf(k) != rt || k.VersionID != "" || k.Normalize().VersionStage != item.StageCurrent {
			return nil, nil, fmt.Errorf("BatchGetSecretValue reads current versions in one region under one role: %s is not one of them", k.ID)
		}
		in.SecretIdList = append(in.SecretIdList, k.ID)
	}
	var out struct {
		SecretValues []secretValue
		Errors       []struct{ SecretId, ErrorCode, Message string }
	}
	if err := s.clients.call(ctx, awsconfig.SecretsManager, rt, "BatchGetSecretValue", in, &out); err != nil {
		return nil, nil, classified(item.ServiceSecretsManager, err)
	}
	found, failed = map[item.SecretKey]*item.Value{}, map[item.SecretKey]*item.Error{}
	for _, k := range keys {
		for _, v := range out.SecretValues {
			if v.Name == k.ID || v.ARN == k.ID {
				found[k] = v.value()
			}
		}
		for _, e := range out.Errors {
			if e.SecretId == k.ID {
				failed[k] = Classify(item.ServiceSecretsManager, &smithy.GenericAPIError{Code: e.ErrorCode, Message: e.Message})
			}
		}
	}
	return found, failed, nil
}

// secretValue is a secret's version as the service answers it.
type secretValue struct {
	ARN, Name, VersionId string
	VersionStages        []string
	CreatedDate          epochSeconds
	SecretString         *string
	SecretBinary         []byte
}

func (v secretValue) value() *item.Value {
	sec := &item.Value{
		ARN:           v.ARN,
		Name:          v.Name,
		VersionID:     v.VersionId,
		VersionStages: v.VersionStages,
		CreatedDate:   v.CreatedDate.Time,
		Binary:        v.SecretBinary,
	}
	if v.SecretString != nil {
		sec.Text = []byte(*v.SecretString)
	}
	return sec
}

func (s *SecretsManager) getOnce(ctx context.Context, key item.SecretKey) (*item.Value, error) {
	key = key.Normalize()
	var out secretValue
	in := struct {
		SecretId     string
		VersionId    string `json:",omitempty"`
		VersionStage string `json:",omitempty"`
	}{key.ID, key.VersionID, key.VersionStage}
	if err := s.clients.call(ctx, awsconfig.SecretsManager, s.clients.routeOf(key), "GetSecretValue", in, &out); err != nil {
		return nil, err
	}
	return out.value(), nil
}
