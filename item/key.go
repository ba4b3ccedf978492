// Package item is the vocabulary the extension's rooms share: what one read
// names (a Key: a secret's version, a parameter, or a page of parameters
// under a path), what AWS answered (a Value), why a read failed (an Error
// and its codes), and AWS's own names and limits for those. It imports only
// the standard library, so that the cache and the HTTP rooms can speak of
// what they read without importing how the extension talks to AWS.
package item

import "strconv"

// Key names one read. It is a SecretKey, a ParameterKey or a PathKey; each
// is comparable, so a Key is a map key, and two keys are the same read
// exactly when they are equal.
type Key interface {
	// Service names the AWS service that holds the value, for messages.
	Service() string
	// String names the key in an error message.
	String() string
	// LogAttrs name the key in a log line.
	LogAttrs() []any
	scope() Scope
	withScope(Scope) Key
}

// Scope is where and as whom a read is made, the same for every kind of
// key.
type Scope struct {
	// RoleARN, when set, is the IAM role the read is made under; a value
	// read under one role is never answered to a read under another.
	RoleARN string
	// Region, when set, is where the read goes unless an ARN names
	// another: a caller of the SDK's own protocol chose it by signing for
	// it. Empty means the configured region.
	Region string
}

// scope is promoted to each key type that embeds a Scope.
func (s Scope) scope() Scope { return s }

// ScopeOf is where and as whom k is read.
func ScopeOf(k Key) Scope { return k.scope() }

// InRegion is k read in region.
func InRegion(k Key, region string) Key {
	s := k.scope()
	s.Region = region
	return k.withScope(s)
}

// SecretKey names one version of one secret, the way GetSecretValue does.
type SecretKey struct {
	ID           string // name or ARN
	VersionID    string
	VersionStage string
	Scope
}

// Normalize fills in the stage a request means when it names neither a
// version nor a stage. The stage is then always sent explicitly: the moto
// emulator answers a request without one from a stale version after
// UpdateSecretVersionStage, and being explicit is correct on AWS too.
func (k SecretKey) Normalize() SecretKey {
	if k.VersionID == "" && k.VersionStage == "" {
		k.VersionStage = StageCurrent
	}
	return k
}

func (SecretKey) Service() string   { return ServiceSecretsManager }
func (k SecretKey) String() string  { return "secret " + strconv.Quote(k.ID) }
func (k SecretKey) LogAttrs() []any { return []any{"secret_id", k.ID} }
func (k SecretKey) withScope(s Scope) Key {
	k.Scope = s
	return k
}

// ParameterKey names one Parameter Store parameter, the way GetParameter
// does: Name may end in a :version or :label selector.
type ParameterKey struct {
	Name           string
	WithDecryption bool
	Scope
}

func (ParameterKey) Service() string  { return ServiceParameterStore }
func (k ParameterKey) String() string { return "parameter " + strconv.Quote(k.Name) }
func (k ParameterKey) LogAttrs() []any {
	return []any{"parameter", k.Name, "with_decryption", k.WithDecryption}
}
func (k ParameterKey) withScope(s Scope) Key {
	k.Scope = s
	return k
}

// PathKey names one page of GetParametersByPath: the parameters under Path
// (all levels when Recursive), at most PageSize of them (0: the service's
// default), from PageToken on.
type PathKey struct {
	Path           string
	Recursive      bool
	WithDecryption bool
	PageSize       int32
	PageToken      string
	Scope
}

func (PathKey) Service() string  { return ServiceParameterStore }
func (k PathKey) String() string { return "parameters under " + strconv.Quote(k.Path) }
func (k PathKey) LogAttrs() []any {
	return []any{"parameter_path", k.Path, "recursive", k.Recursive, "with_decryption", k.WithDecryption}
}
func (k PathKey) withScope(s Scope) Key {
	k.Scope = s
	return k
}

// Normalize is k as the read it means: a SecretKey naming neither a version
// nor a stage means AWSCURRENT (see SecretKey.Normalize); other keys mean
// what they say.
func Normalize(k Key) Key {
	// Only a key that changes is boxed anew: a read of the normalized
	// primary key must not allocate.
	if s, ok := k.(SecretKey); ok && s.VersionID == "" && s.VersionStage == "" {
		return s.Normalize()
	}
	return k
}
