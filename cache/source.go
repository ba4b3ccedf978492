package cache

import (
	"context"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Key names what the cache holds: one version of one secret the way
// GetSecretValue does, or one Parameter Store parameter the way
// GetParameter does.
type Key struct {
	SecretID     string // name or ARN
	VersionID    string
	VersionStage string
	// Parameter, when set, names a parameter instead, with any :version
	// or :label selector; the secret fields are then empty.
	Parameter      string
	WithDecryption bool
}

// IsParameter reports whether k names a Parameter Store parameter.
func (k Key) IsParameter() bool { return k.Parameter != "" }

// StageCurrent is the stage Secrets Manager moves to each new version.
const StageCurrent = "AWSCURRENT"

// Normalize fills in the stage a request means when it names neither a
// version nor a stage. The stage is then always sent explicitly: the moto
// emulator answers a request without one from a stale version after
// UpdateSecretVersionStage, and being explicit is correct on AWS too.
func (k Key) Normalize() Key {
	if !k.IsParameter() && k.VersionID == "" && k.VersionStage == "" {
		k.VersionStage = StageCurrent
	}
	return k
}

func (k Key) flightKey() string {
	if k.IsParameter() {
		return "ssm\x00" + k.Parameter + "\x00" + strconv.FormatBool(k.WithDecryption)
	}
	return k.SecretID + "\x00" + k.VersionID + "\x00" + k.VersionStage
}

// describe names k in an error message.
func (k Key) describe() string {
	if k.IsParameter() {
		return "parameter " + strconv.Quote(k.Parameter)
	}
	return "secret " + strconv.Quote(k.SecretID)
}

// logAttrs name k in a log line.
func (k Key) logAttrs() []any {
	if k.IsParameter() {
		return []any{"parameter", k.Parameter, "with_decryption", k.WithDecryption}
	}
	return []any{"secret_id", k.SecretID}
}

// Source is where secret values come from.
type Source interface {
	// GetSecretValue fetches one version. Errors should be classifiable by
	// Classify (AWS API errors, network errors, or *UpstreamError).
	GetSecretValue(ctx context.Context, key Key) (*Secret, error)
}

// SecretsManager reads secrets from AWS Secrets Manager.
type SecretsManager struct {
	client *secretsmanager.Client
}

// MaxAttempts is how many calls one fetch makes at most: a transient
// failure is retried at once, twice, within the fetch's deadline.
const MaxAttempts = 3

// NewSecretsManager builds a Secrets Manager source from cfg. region, when
// set, overrides cfg's: the Starfleet secret may live in another region
// than the function.
func NewSecretsManager(cfg aws.Config, region string) (*SecretsManager, error) {
	if region != "" {
		cfg.Region = region
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set STARFLEET_SECRET_REGION or AWS_REGION")
	}
	return &SecretsManager{client: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if url := serviceEndpoint("SECRETS_MANAGER"); url != "" {
			o.BaseEndpoint = aws.String(url)
		}
	})}, nil
}

// GetSecretValue implements Source.
func (s *SecretsManager) GetSecretValue(ctx context.Context, key Key) (*Secret, error) {
	return withRetries(ctx, func() (*Secret, error) { return s.getOnce(ctx, key) })
}

// withRetries calls fetch up to MaxAttempts times: a transient failure is
// retried after a short jittered pause, never past ctx's deadline, so that
// the error returned is always the last real one.
func withRetries(ctx context.Context, fetch func() (*Secret, error)) (*Secret, error) {
	for attempt := 1; ; attempt++ {
		sec, err := fetch()
		if err == nil || attempt == MaxAttempts || !Classify(err).Transient {
			return sec, err
		}
		pause := retryPause(attempt, rand.Float64())
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
			return nil, err
		}
		if sleepFor(ctx, pause) != nil {
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

func (s *SecretsManager) getOnce(ctx context.Context, key Key) (*Secret, error) {
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
	sec := &Secret{
		ARN:           aws.ToString(out.ARN),
		Name:          aws.ToString(out.Name),
		VersionID:     aws.ToString(out.VersionId),
		VersionStages: out.VersionStages,
		CreatedDate:   aws.ToTime(out.CreatedDate),
		Binary:        out.SecretBinary,
	}
	if out.SecretString != nil {
		sec.String = []byte(*out.SecretString)
	}
	return sec, nil
}

// File serves one secret from a local JSON file, for development without an
// AWS account. The file is read on every fetch, so an edit is seen within one
// TTL, like a rotation.
type File struct {
	path     string
	secretID string
	// versionKey keys the version id derived from the content, so the id
	// changes with every edit yet reveals nothing about a short value.
	versionKey []byte
}

// NewFile serves the file at path as the secret named secretID.
func NewFile(path, secretID string) *File {
	return &File{path: path, secretID: secretID, versionKey: []byte(cryptorand.Text())}
}

// GetSecretValue implements Source.
func (f *File) GetSecretValue(_ context.Context, key Key) (*Secret, error) {
	key = key.Normalize()
	if key.SecretID != f.secretID || (key.VersionStage != "" && key.VersionStage != StageCurrent) {
		return nil, &UpstreamError{Code: CodeNotFound, Err: fmt.Errorf("the local file source holds only secret %q at stage %s", f.secretID, StageCurrent)}
	}
	content, err := os.ReadFile(f.path)
	if err != nil {
		// os errors name the path and the cause, never the content.
		return nil, &UpstreamError{Code: CodeFileUnreadable, Err: err}
	}
	info, err := os.Stat(f.path)
	if err != nil {
		return nil, &UpstreamError{Code: CodeFileUnreadable, Err: err}
	}
	mac := hmac.New(sha256.New, f.versionKey)
	mac.Write(content)
	versionID := hex.EncodeToString(mac.Sum(nil)[:16])
	if key.VersionID != "" && key.VersionID != versionID {
		return nil, &UpstreamError{Code: CodeNotFound, Err: errors.New("the local file source has no such version")}
	}
	return &Secret{
		ARN:           "arn:aws:secretsmanager:local:000000000000:secret:" + f.secretID,
		Name:          f.secretID,
		VersionID:     versionID,
		VersionStages: []string{StageCurrent},
		CreatedDate:   info.ModTime().UTC(),
		String:        content,
	}, nil
}
