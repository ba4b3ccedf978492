package upstream

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/aws/smithy-go"
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
	v, err := s.clients.withRetries(ctx, ServiceParameterStore, key, func() (*Value, error) {
		var out struct{ Parameter *parameter }
		in := struct {
			Name           string
			WithDecryption bool
		}{key.Parameter, key.WithDecryption}
		if err := s.clients.call(ctx, parameterStoreAPI, s.clients.routeOf(key), "GetParameter", in, &out); err != nil {
			return nil, err
		}
		if out.Parameter == nil {
			return nil, errNoParameter
		}
		return parameterValue(out.Parameter, key.WithDecryption), nil
	})
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
	var out struct{ Parameters []parameter }
	in := struct {
		Names          []string
		WithDecryption bool
	}{names, decrypt}
	_, err := s.clients.withRetries(ctx, ServiceParameterStore, keys[0], func() (*Value, error) {
		return nil, s.clients.call(ctx, parameterStoreAPI, s.clients.routeOf(keys[0]), "GetParameters", in, &out)
	})
	if err != nil {
		return nil, Classify(ServiceParameterStore, err)
	}
	found := make(map[Key]*Value, len(out.Parameters))
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
// *Error.
func (s *ParameterStore) GetParametersByPath(ctx context.Context, key Key) (*Value, error) {
	in := struct {
		Path           string
		Recursive      bool
		WithDecryption bool
		MaxResults     int32  `json:",omitempty"`
		NextToken      string `json:",omitempty"`
	}{key.Path, key.Recursive, key.WithDecryption, key.PageSize, key.PageToken}
	v, err := s.clients.withRetries(ctx, ServiceParameterStore, key, func() (*Value, error) {
		var out struct {
			Parameters []parameter
			NextToken  string
		}
		if err := s.clients.call(ctx, parameterStoreAPI, s.clients.routeOf(key), "GetParametersByPath", in, &out); err != nil {
			return nil, err
		}
		page := &Value{Parameters: make([]*Value, len(out.Parameters)), NextToken: out.NextToken}
		for i := range out.Parameters {
			page.Parameters[i] = parameterValue(&out.Parameters[i], key.WithDecryption)
		}
		return page, nil
	})
	return v, classified(ServiceParameterStore, err)
}

// parameter is a parameter as Parameter Store's answers hold it.
type parameter struct {
	ARN, Name, Type, DataType, Selector, SourceResult string
	Value                                             *string
	Version                                           int64
	LastModifiedDate                                  epochSeconds
}

// errNoParameter is a GetParameter answer without its parameter.
var errNoParameter = &smithy.DeserializationError{Err: errors.New("the answer from " + ServiceParameterStore + " holds no parameter")}

func parameterValue(p *parameter, decrypted bool) *Value {
	sec := &Value{
		ARN:         p.ARN,
		Name:        p.Name,
		VersionID:   strconv.FormatInt(p.Version, 10),
		CreatedDate: p.LastModifiedDate.Time,
		Parameter: &ParameterMeta{
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

// HasSelector reports whether a parameter name (or ARN) ends in a
// :version or :label selector: a colon after the name's last slash, or,
// for an ARN, after its resource part.
func HasSelector(name string) bool {
	if strings.HasPrefix(name, "arn:") {
		_, resource, ok := strings.Cut(name, ":parameter")
		return ok && strings.Contains(resource, ":")
	}
	return strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":")
}

// IsReference reports whether a parameter name is a reference to a
// Secrets Manager secret, which GetParameters does not accept.
func IsReference(name string) bool { return strings.HasPrefix(name, ReferencePrefix) }
