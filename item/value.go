package item

import "time"

// Value is what one read answered: one version of a secret as Secrets
// Manager returned it, or one parameter as Parameter Store did (then
// Parameter is set, Text holds the value, VersionID the version and
// CreatedDate the date it was last modified). It is never modified once
// published to the cache, except by Wipe.
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
