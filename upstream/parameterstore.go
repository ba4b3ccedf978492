package upstream

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ReferencePrefix is Parameter Store's door to Secrets Manager: GetParameter
// of ReferencePrefix+id answers the secret id.
const ReferencePrefix = "/aws/reference/secretsmanager/"

// MaxBatch is how many parameters one GetParameters call may name.
const MaxBatch = 10

// ParameterStore reads parameters from AWS Systems Manager Parameter Store.
type ParameterStore struct {
	clients *Clients
}

// NewParameterStore reads parameters through clients.
func NewParameterStore(clients *Clients) *ParameterStore {
	return &ParameterStore{clients: clients}
}

// GetParameter reads one parameter (key.Parameter, with any :version or
// :label selector, and key.WithDecryption), retrying transient failures
// within ctx's deadline as Secrets Manager reads do. Its errors are *Error.
func (s *ParameterStore) GetParameter(ctx context.Context, key Key) (*Value, error) {
	v, err := withRetries(ctx, ServiceParameterStore, func() (*Value, error) {
		out, err := s.clients.parameterStore(key).GetParameter(ctx, &ssm.GetParameterInput{
			Name:           aws.String(key.Parameter),
			WithDecryption: aws.Bool(key.WithDecryption),
		})
		if err != nil {
			return nil, err
		}
		return parameterValue(out.Parameter, key.WithDecryption), nil
	}, func() { s.clients.renew(key) })
	return v, classified(ServiceParameterStore, err)
}

// GetParameters reads up to MaxBatch parameters sharing WithDecryption in
// one call: Parameter Store's throughput quota counts calls, not
// parameters. Missing parameters are absent from the answer. Its errors
// are *Error.
func (s *ParameterStore) GetParameters(ctx context.Context, keys []Key) (map[Key]*Value, error) {
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
	_, err := withRetries(ctx, ServiceParameterStore, func() (*Value, error) {
		var err error
		out, err = s.clients.parameterStore(keys[0]).GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(decrypt)})
		return nil, err
	}, func() { s.clients.renew(keys[0]) })
	if err != nil {
		return nil, Classify(ServiceParameterStore, err)
	}
	found := make(map[Key]*Value, len(out.Parameters))
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

// GetParametersByPath reads one page of the parameters under key.Path, as
// GetParametersByPath answers it: key.PageToken is the service's token of
// the page, and the answer's NextToken that of the next. Its errors are
// *Error.
func (s *ParameterStore) GetParametersByPath(ctx context.Context, key Key) (*Value, error) {
	in := &ssm.GetParametersByPathInput{
		Path:           aws.String(key.Path),
		Recursive:      aws.Bool(key.Recursive),
		WithDecryption: aws.Bool(key.WithDecryption),
	}
	if key.PageSize > 0 {
		in.MaxResults = aws.Int32(key.PageSize)
	}
	if key.PageToken != "" {
		in.NextToken = aws.String(key.PageToken)
	}
	v, err := withRetries(ctx, ServiceParameterStore, func() (*Value, error) {
		out, err := s.clients.parameterStore(key).GetParametersByPath(ctx, in)
		if err != nil {
			return nil, err
		}
		page := &Value{Parameters: make([]*Value, len(out.Parameters)), NextToken: aws.ToString(out.NextToken)}
		for i := range out.Parameters {
			page.Parameters[i] = parameterValue(&out.Parameters[i], key.WithDecryption)
		}
		return page, nil
	}, func() { s.clients.renew(key) })
	return v, classified(ServiceParameterStore, err)
}

func parameterValue(p *types.Parameter, decrypted bool) *Value {
	sec := &Value{
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
		sec.Text = []byte(*p.Value)
	}
	return sec
}

// IsReference reports whether a parameter name is a reference to a
// Secrets Manager secret, which GetParameters does not accept.
func IsReference(name string) bool { return strings.HasPrefix(name, ReferencePrefix) }
