package upstream

import (
	"context"
	"errors"
	"strconv"

	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// ParameterStore reads parameters from AWS Systems Manager Parameter Store.
type ParameterStore struct {
	clients *Clients
}

// NewParameterStore reads parameters through clients.
func NewParameterStore(clients *Clients) *ParameterStore {
	return &ParameterStore{clients: clients}
}

// GetParameter reads one parameter (key.Name, with any :version or
// :label selector, and key.WithDecryption), retrying transient failures
// within ctx's deadline as Secrets Manager reads do. Its errors are *item.Error.
func (s *ParameterStore) GetParameter(ctx context.Context, key item.ParameterKey) (*item.Value, error) {
	v, err := s.clients.withRetries(ctx, item.ServiceParameterStore, key, func() (*item.Value, error) {
		var out struct{ Parameter *parameter }
		in := struct {
			Name           string
			WithDecryption bool
		}{key.Name, key.WithDecryption}
		if err := s.clients.call(ctx, awsconfig.ParameterStore, s.clients.routeOf(key), "GetParameter", in, &out); err != nil {
			return nil, err
		}
		if out.Parameter == nil {
			return nil, errNoParameter
		}
		return parameterValue(out.Parameter, key.WithDecryption), nil
	})
	return v, classified(item.ServiceParameterStore, err)
}

// GetParameters reads up to item.MaxBatch parameters sharing WithDecryption in
// one call: Parameter Store's throughput quota counts calls, not
// parameters. Missing parameters are absent from the answer. Its errors
// are *item.Error.
func (s *ParameterStore) GetParameters(ctx context.Context, keys []item.ParameterKey) (map[item.ParameterKey]*item.Value, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	names := make([]string, len(keys))
	byName := make(map[string]item.ParameterKey, len(keys))
	for i, k := range keys {
		names[i] = k.Name
		byName[k.Name] = k
	}
	decrypt := keys[0].WithDecryption
	var out struct{ Parameters []parameter }
	in := struct {
		Names          []string
		WithDecryption bool
	}{names, decrypt}
	_, err := s.clients.withRetries(ctx, item.ServiceParameterStore, keys[0], func() (*item.Value, error) {
		return nil, s.clients.call(ctx, awsconfig.ParameterStore, s.clients.routeOf(keys[0]), "GetParameters", in, &out)
	})
	if err != nil {
		return nil, Classify(item.ServiceParameterStore, err)
	}
	found := make(map[item.ParameterKey]*item.Value, len(out.Parameters))
	for i := range out.Parameters {
		p := &out.Parameters[i]
		// The answer names a parameter without the selector it was asked
		// with, which Selector carries.
		if k, ok := byName[p.Name+p.Selector]; ok {
			found[k] = parameterValue(p, decrypt)
		} else if k, ok := byName[p.Name]; ok {
			found[k] = parameterValue(p, decrypt)
		}
	}
	return found, nil
}

// GetParametersByPath reads one page of the parameters under key.Path, as
// GetParametersByPath answers it: key.PageToken is the service's token of
// the page, and the answer's NextToken that of the next. Its errors are
// *item.Error.
func (s *ParameterStore) GetParametersByPath(ctx context.Context, key item.PathKey) (*item.Value, error) {
	in := struct {
		Path           string
		Recursive      bool
		WithDecryption bool
		MaxResults     int32  `json:",omitempty"`
		NextToken      string `json:",omitempty"`
	}{key.Path, key.Recursive, key.WithDecryption, key.PageSize, key.PageToken}
	v, err := s.clients.withRetries(ctx, item.ServiceParameterStore, key, func() (*item.Value, error) {
		var out struct {
			Parameters []parameter
			NextToken  string
		}
		if err := s.clients.call(ctx, awsconfig.ParameterStore, s.clients.routeOf(key), "GetParametersByPath", in, &out); err != nil {
			return nil, err
		}
		page := &item.Value{Parameters: make([]*item.Value, len(out.Parameters)), NextToken: out.NextToken}
		for i := range out.Parameters {
			page.Parameters[i] = parameterValue(&out.Parameters[i], key.WithDecryption)
		}
		return page, nil
	})
	return v, classified(item.ServiceParameterStore, err)
}

// parameter is a parameter as Parameter Store's answers hold it.
type parameter struct {
	ARN, Name, Type, DataType, Selector, SourceResult string
	Value                                             *string
	Version                                           int64
	LastModifiedDate                                  epochSeconds
}

// errNoParameter is a GetParameter answer without its parameter.
var errNoParameter = &smithy.DeserializationError{Err: errors.New("the answer from " + item.ServiceParameterStore + " holds no parameter")}

func parameterValue(p *parameter, decrypted bool) *item.Value {
	sec := &item.Value{
		ARN:         p.ARN,
		Name:        p.Name,
		VersionID:   strconv.FormatInt(p.Version, 10),
		CreatedDate: p.LastModifiedDate.Time,
		Parameter: &item.ParameterMeta{
			Type:         p.Type,
			DataType:     p.DataType,
			Selector:     p.Selector,
			SourceResult: p.SourceResult,
			Version:      p.Version,
			Decrypted:    decrypted,
		},
	}
	if p.Value != nil {
		sec.Text = []byte(*p.Value)
	}
	return sec
}
