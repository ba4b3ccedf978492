package upstream

import (
	"context"

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

func (s *SecretsManager) getOnce(ctx context.Context, key item.SecretKey) (*item.Value, error) {
	key = key.Normalize()
	var out struct {
		ARN, Name, VersionId string
		VersionStages        []string
		CreatedDate          epochSeconds
		SecretString         *string
		SecretBinary         []byte
	}
	in := struct {
		SecretId     string
		VersionId    string `json:",omitempty"`
		VersionStage string `json:",omitempty"`
	}{key.ID, key.VersionID, key.VersionStage}
	if err := s.clients.call(ctx, awsconfig.SecretsManager, s.clients.routeOf(key), "GetSecretValue", in, &out); err != nil {
		return nil, err
	}
	sec := &item.Value{
		ARN:           out.ARN,
		Name:          out.Name,
		VersionID:     out.VersionId,
		VersionStages: out.VersionStages,
		CreatedDate:   out.CreatedDate.Time,
		Binary:        out.SecretBinary,
	}
	if out.SecretString != nil {
		sec.Text = []byte(*out.SecretString)
	}
	return sec, nil
}
