package upstream

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
// names and under its role, if any. Its errors are *Error.
func (s *SecretsManager) GetSecretValue(ctx context.Context, key Key) (*Value, error) {
	v, err := withRetries(ctx, ServiceSecretsManager, func() (*Value, error) { return s.getOnce(ctx, key) },
		func() { s.clients.renew(key) })
	return v, classified(ServiceSecretsManager, err)
}

func (s *SecretsManager) getOnce(ctx context.Context, key Key) (*Value, error) {
	key = key.Normalize()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(key.SecretID)}
	if key.VersionID != "" {
		in.VersionId = aws.String(key.VersionID)
	}
	if key.VersionStage != "" {
		in.VersionStage = aws.String(key.VersionStage)
	}
	out, err := s.clients.secretsManager(key).GetSecretValue(ctx, in)
	if err != nil {
		return nil, err
	}
	sec := &Value{
		ARN:           aws.ToString(out.ARN),
		Name:          aws.ToString(out.Name),
		VersionID:     aws.ToString(out.VersionId),
		VersionStages: out.VersionStages,
		CreatedDate:   aws.ToTime(out.CreatedDate),
		Binary:        out.SecretBinary,
	}
	if out.SecretString != nil {
		sec.Text = []byte(*out.SecretString)
	}
	return sec, nil
}
