package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// Service sends one Secrets Manager operation and decodes its answer into
// out; an error the service answered is an *APIError.
type Service interface {
	Call(ctx context.Context, op string, in, out any) error
}

// APIError is an error Secrets Manager answered.
type APIError struct {
	Code, Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func isNotFound(err error) bool {
	e, ok := err.(*APIError)
	return ok && e.Code == "ResourceNotFoundException"
}

// NewService sends operations through clients, in region, signed with the
// credentials the extension reads with.
func NewService(clients *upstream.Clients, region string) Service {
	return forwarding{clients: clients, region: region}
}

type forwarding struct {
	clients *upstream.Clients
	region  string
}

func (f forwarding) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	answer, err := f.clients.Forward(ctx, upstream.Call{Service: item.ServiceSecretsManager, Region: f.region,
		Target: "secretsmanager." + op, ContentType: "application/x-amz-json-1.1", Body: body})
	clear(body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer clear(answer.Body)
	if answer.Status/100 != 2 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(answer.Body, &e)
		if _, code, ok := strings.Cut(e.Type, "#"); ok {
			e.Type = code
		}
		if e.Type == "" {
			e.Type = fmt.Sprintf("HTTP%d", answer.Status)
		}
		return &APIError{Code: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Body, out); err != nil {
		return fmt.Errorf("%s: the answer is not the service's JSON", op)
	}
	return nil
}
