package cache

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ParameterMeta is what GetParameter answers about a Parameter Store value
// besides the value itself, which is kept in Secret.String.
type ParameterMeta struct {
	Type         string // String, StringList or SecureString
	DataType     string
	Selector     string
	SourceResult string // set for /aws/reference/secretsmanager/ names
	Version      int64
	// Decrypted records whether the value was asked for with decryption,
	// so a SecureString read without it is never served to one with it.
	Decrypted bool
}

// ReferencePrefix is Parameter Store's door to Secrets Manager: GetParameter
// of ReferencePrefix+id answers the secret id.
const ReferencePrefix = "/aws/reference/secretsmanager/"

// MaxBatch is how many parameters one GetParameters call may name.
const MaxBatch = 10

// ParameterSource is where Parameter Store values come from.
type ParameterSource interface {
	// GetParameter fetches one parameter (key.Parameter, with any
	// :version or :label selector, and key.WithDecryption).
	GetParameter(ctx context.Context, key Key) (*Secret, error)
	// GetParameters fetches up to MaxBatch parameters sharing
	// WithDecryption in one call, for prefetching: Parameter Store's
	// throughput quota counts calls, not parameters. Missing parameters
	// are absent from the answer.
	GetParameters(ctx context.Context, keys []Key) (map[Key]*Secret, error)
}

// ParameterStore reads parameters from AWS Systems Manager Parameter Store.
type ParameterStore struct {
	client *ssm.Client
}

// NewParameterStore builds a Parameter Store source from cfg, in cfg's
// region (the function's: Parameter Store values live beside it).
func NewParameterStore(cfg aws.Config) *ParameterStore {
	return &ParameterStore{client: ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if url := serviceEndpoint("SSM"); url != "" {
			o.BaseEndpoint = aws.String(url)
		}
	})}
}

// GetParameter implements ParameterSource, retrying transient failures
// within ctx's deadline as Secrets Manager reads do.
func (s *ParameterStore) GetParameter(ctx context.Context, key Key) (*Secret, error) {
	return withRetries(ctx, func() (*Secret, error) {
		out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{
			Name:           aws.String(key.Parameter),
			WithDecryption: aws.Bool(key.WithDecryption),
		})
		if err != nil {
			return nil, err
		}
		return parameterValue(out.Parameter, key.WithDecryption), nil
	})
}

// GetParameters implements ParameterSource.
func (s *ParameterStore) GetParameters(ctx context.Context, keys []Key) (map[Key]*Secret, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	names := make([]string, len(keys))
	byName := make(map[string]Key, len(keys))
	for i, k := range keys {
		names[i] = k.Parameter
		byName[k.Parameter] = k
	}
	decrypt := keys[0].WithDecryption
	var out *ssm.GetParametersOutput
	_, err := withRetries(ctx, func() (*Secret, error) {
		var err error
		out, err = s.client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(decrypt)})
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	found := make(map[Key]*Secret, len(out.Parameters))
	for i := range out.Parameters {
		p := &out.Parameters[i]
		// The answer names a parameter without the selector it was asked
		// with, which Selector carries.
		name := aws.ToString(p.Name) + aws.ToString(p.Selector)
		if k, ok := byName[name]; ok {
			found[k] = parameterValue(p, decrypt)
		} else if k, ok := byName[aws.ToString(p.Name)]; ok {
			found[k] = parameterValue(p, decrypt)
		}
	}
	return found, nil
}

func parameterValue(p *types.Parameter, decrypted bool) *Secret {
	sec := &Secret{
		ARN:         aws.ToString(p.ARN),
		Name:        aws.ToString(p.Name),
		VersionID:   strconv.FormatInt(p.Version, 10),
		CreatedDate: aws.ToTime(p.LastModifiedDate),
		Parameter: &ParameterMeta{
			Type:         string(p.Type),
			DataType:     aws.ToString(p.DataType),
			Selector:     aws.ToString(p.Selector),
			SourceResult: aws.ToString(p.SourceResult),
			Version:      p.Version,
			Decrypted:    decrypted,
		},
	}
	if p.Value != nil {
		sec.String = []byte(*p.Value)
	}
	return sec
}

// IsReference reports whether a parameter name is a reference to a
// Secrets Manager secret, which GetParameters does not accept.
func IsReference(name string) bool { return strings.HasPrefix(name, ReferencePrefix) }
