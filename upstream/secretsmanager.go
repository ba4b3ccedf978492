package upstream

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManager reads secrets from AWS Secrets Manager.
type SecretsManager struct {
	client *secretsmanager.Client
}

// MaxAttempts is how many calls one fetch makes at most: a transient
// failure is retried at once, twice, within the fetch's deadline.
const MaxAttempts = 3

// ErrNoRegion is the error of a client built with no region at all.
var ErrNoRegion = errors.New("no AWS region")

// The services' ids, as their endpoint variables spell them.
const (
	secretsManagerID = "SECRETS_MANAGER"
	ssmID            = "SSM"
)

// NewSecretsManager builds a Secrets Manager source from a. region, when
// set, overrides a's: the Starfleet secret may live in another region than
// the function. With neither it returns ErrNoRegion.
func NewSecretsManager(a AWS, region string) (*SecretsManager, error) {
	cfg := a.Config
	if region != "" {
		cfg.Region = region
	}
	if cfg.Region == "" {
		return nil, ErrNoRegion
	}
	return &SecretsManager{client: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		a.endpoint(secretsManagerID, &o.BaseEndpoint)
	})}, nil
}

// GetSecretValue reads one version of one secret. Its errors are *Error.
func (s *SecretsManager) GetSecretValue(ctx context.Context, key Key) (*Value, error) {
	v, err := withRetries(ctx, ServiceSecretsManager, func() (*Value, error) { return s.getOnce(ctx, key) })
	return v, classified(ServiceSecretsManager, err)
}

// classified is Classify that keeps a nil error an untyped nil.
func classified(service string, err error) error {
	if err == nil {
		return nil
	}
	return Classify(service, err)
}

// withRetries calls fetch up to MaxAttempts times: a transient failure is
// retried after a short jittered pause, never past ctx's deadline, so that
// the error returned is always the last real one.
func withRetries(ctx context.Context, service string, fetch func() (*Value, error)) (*Value, error) {
	for attempt := 1; ; attempt++ {
		sec, err := fetch()
		if err == nil || attempt == MaxAttempts || !Classify(service, err).Transient {
			return sec, err
		}
		pause := retryPause(attempt, rand.Float64())
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
			return nil, err
		}
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, err
		}
	}
}

// retryPause is the pause before retry n+1 within one fetch: 50-100 ms,
// then 100-200 ms. jitter is in [0, 1).
func retryPause(n int, jitter float64) time.Duration {
	base := 100 * time.Millisecond << (n - 1)
	return base/2 + time.Duration(jitter*float64(base/2))
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
	out, err := s.client.GetSecretValue(ctx, in)
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
