package item

import (
	"errors"
	"strings"
)

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

// ReferencePrefix is Parameter Store's door to Secrets Manager: GetParameter
// of ReferencePrefix+id answers the secret id.
const ReferencePrefix = "/aws/reference/secretsmanager/"

// MaxBatch is how many parameters one GetParameters call may name.
const MaxBatch = 10

// MaxSecretBatch is how many secrets one BatchGetSecretValue call may name.
const MaxSecretBatch = 20

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

// RegionOf is the region an ARN names ("arn:aws:secretsmanager:REGION:...",
// "arn:aws:ssm:REGION:..."), or "" for a plain name.
func RegionOf(id string) string {
	parts := strings.SplitN(id, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// CheckRoleARN accepts what IAM's AssumeRole takes as a role:
// arn:PARTITION:iam::ACCOUNT:role/PATH/NAME, at most 2048 characters of
// printable ASCII.
func CheckRoleARN(s string) error {
	if len(s) > 2048 {
		return errors.New("longer than 2048 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("contains a character other than printable ASCII")
		}
	}
	parts := strings.SplitN(s, ":", 6)
	switch {
	case len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "iam" || parts[3] != "":
		return errors.New("not an IAM ARN (arn:aws:iam::ACCOUNT:role/NAME)")
	case len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "":
		return errors.New("the account is not 12 digits")
	case !strings.HasPrefix(parts[5], "role/") || len(parts[5]) == len("role/"):
		return errors.New("not a role (role/NAME)")
	}
	return nil
}

// MaxSecretNameLength is Secrets Manager's limit on a secret's name.
const MaxSecretNameLength = 512

// IsSecretName reports whether s can be (part of) a secret's name: 1 to
// MaxSecretNameLength of ASCII letters, digits and /_+=.@-. A loop, not a
// regular expression: this runs in the extension, whose package
// initialisation every cold start pays for.
func IsSecretName(s string) bool {
	if s == "" || len(s) > MaxSecretNameLength {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/_+=.@-", c) >= 0) {
			return false
		}
	}
	return true
}
