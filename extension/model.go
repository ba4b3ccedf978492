package extension

import (
	"context"
	"errors"
)

// Model is a Lambda execution model, as AWS_LAMBDA_INITIALIZATION_TYPE
// names it. Its methods are the rules each model sets an extension; a
// model this package does not know runs as on-demand, the model every
// other is a variation of.
type Model string

// The execution models.
const (
	OnDemand               Model = "on-demand"
	ProvisionedConcurrency Model = "provisioned-concurrency"
	SnapStart              Model = "snap-start"
	ManagedInstances       Model = "lambda-managed-instances"
)

// AcceptsInvoke reports whether the platform lets an extension register
// for INVOKE: Managed Instances refuses it, as it runs many invocations at
// once in an environment it never freezes.
func (m Model) AcceptsInvoke() bool { return m != ManagedInstances }

// PrefetchesDuringInit reports whether an extension may fetch secrets
// during INIT: not under SnapStart, whose INIT memory is snapshotted and
// restored into many environments later, secrets and all.
func (m Model) PrefetchesDuringInit() bool { return m != SnapStart }

// ErrorInvalidEventType is the error type of a refused registration for
// an event the model does not allow.
const ErrorInvalidEventType = "Extension.InvalidEventType"

// RegisterFor registers name for the events model allows, and reports
// whether INVOKE is among them: then the environment is frozen between
// invocations, and the extension hears of each. A platform that refuses
// INVOKE in a model that should allow it gets a second registration for
// SHUTDOWN alone, and the extension then runs as under Managed Instances
// instead of failing init (and with it the environment); refusedInvoke
// tells the caller, to log.
func (c *Client) RegisterFor(ctx context.Context, name string, model Model) (invokes bool, refusedInvoke error, err error) {
	if !model.AcceptsInvoke() {
		_, err := c.Register(ctx, name, Shutdown)
		return false, nil, err
	}
	_, err = c.Register(ctx, name, Invoke, Shutdown)
	var refused *APIError
	if errors.As(err, &refused) && refused.ErrorType == ErrorInvalidEventType {
		_, err = c.Register(ctx, name, Shutdown)
		return false, refused, err
	}
	return err == nil, nil, err
}
