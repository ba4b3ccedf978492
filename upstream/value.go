package upstream

import (
	"strconv"
	"strings"
	"time"
)

// Key names one thing to read: one version of one secret the way
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
	// RoleARN, when set, is the IAM role the read is made under; a value
	// read under one role is never answered to a read under another.
	RoleARN string
	// Region, when set, is where the read goes unless an ARN names
	// another: a caller of the SDK's own protocol chose it by signing for
	// it. Empty means the configured region.
	Region string
	// Path, when set, names one page of GetParametersByPath instead:
	// the parameters under Path (all levels when Recursive), at most
	// PageSize of them (0: the service's default), from PageToken on.
	Path      string
	Recursive bool
	PageSize  int32
	PageToken string
}

// IsParameter reports whether k names a Parameter Store parameter, or a
// page of them.
func (k Key) IsParameter() bool { return k.Parameter != "" || k.Path != "" }

// Secrets Manager's own limits on GetSecretValue's parameters, in
// characters, and Parameter Store's on a name with its selector and on a
// label.
const (
	MaxSecretIDLength      = 2048
	MinVersionIDLength     = 32
	MaxVersionIDLength     = 64
	MaxVersionStageLength  = 256
	MaxParameterNameLength = 2048
	MaxLabelLength         = 100
)

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

// Service names the AWS service that holds k, for messages.
func (k Key) Service() string {
	if k.IsParameter() {
		return ServiceParameterStore
	}
	return ServiceSecretsManager
}

// String names k in an error message.
func (k Key) String() string {
	if k.Path != "" {
		return "parameters under " + strconv.Quote(k.Path)
	}
	if k.IsParameter() {
		return "parameter " + strconv.Quote(k.Parameter)
	}
	return "secret " + strconv.Quote(k.SecretID)
}

// LogAttrs name k in a log line.
func (k Key) LogAttrs() []any {
	if k.Path != "" {
		return []any{"parameter_path", k.Path, "recursive", k.Recursive, "with_decryption", k.WithDecryption}
	}
	if k.IsParameter() {
		return []any{"parameter", k.Parameter, "with_decryption", k.WithDecryption}
	}
	return []any{"secret_id", k.SecretID}
}

// IsSecret reports whether the secret of that name and ARN is the one id
// (a name, a full ARN or a partial ARN, as GetSecretValue accepts) names.
func IsSecret(id, name, arn string) bool {
	if id == name || id == arn {
		return true
	}
	// A partial ARN lacks the "-" and six random characters Secrets
	// Manager appends to the name.
	rest, ok := strings.CutPrefix(arn, id+"-")
	return ok && strings.HasPrefix(id, "arn:") && len(rest) == 6
}

// Value is what one read answered: one version of a secret as Secrets
// Manager returned it, or one parameter as Parameter Store did (then
// Parameter is set, Text holds the value, VersionID the version and
// CreatedDate the date it was last modified). It is never modified once
// published to the cache, except by Wipe at shutdown.
type Value struct {
	ARN           string
	Name          string
	VersionID     string
	VersionStages []string
	CreatedDate   time.Time

	// Text holds SecretString's (or a parameter's Value's) bytes; nil when
	// the secret is binary.
	Text []byte
	// Binary holds SecretBinary; nil when the secret is a string.
	Binary []byte
	// Parameter describes a Parameter Store value; nil for a secret.
	Parameter *ParameterMeta

	// Parameters holds one page of GetParametersByPath, and NextToken
	// the service's token for the page after it ("" on the last).
	Parameters []*Value
	NextToken  string
}

// ParameterMeta is what GetParameter answers about a Parameter Store value
// besides the value itself, which is kept in Value.Text.
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

// Wipe overwrites the value's secret bytes. Call it only when nothing can
// read the value any more (at shutdown, after the server stopped).
func (v *Value) Wipe() {
	clear(v.Text)
	clear(v.Binary)
	for _, p := range v.Parameters {
		p.Wipe()
	}
}
