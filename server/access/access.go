// Package access is the one access policy every route of the HTTP API
// asks: whether a caller presents the token (token.go), which slices of the Starfleet secret this function may read,
// under which roles it may read, when a whole value must be refused
// because it is the Starfleet secret (or Parameter Store's reference to
// it) and the function may read only some slices, and when an operation
// may be passed to its service unchecked. It is pure, so that a table test
// reaches every decision; the routes word the refusals.
package access

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// Policy is what one function may read through the extension.
type Policy struct {
	starfleet string          // the Starfleet secret's id: name, ARN or partial ARN
	slices    map[string]bool // nil: every slice
	prefix    string          // the split layout's: each slice is the secret prefix+slice
	roles     map[string]bool // nil: any role
}

// New is the policy of a function whose Starfleet secret is starfleet,
// allowed the slices allow (none: every slice) and the roles roles ("*":
// any role; none: no role).
func New(starfleet string, allow, roles []string) Policy {
	p := Policy{starfleet: starfleet}
	if len(allow) > 0 {
		p.slices = setOf(allow)
	}
	if !slices.Contains(roles, "*") {
		p.roles = setOf(roles)
	}
	return p
}

// WithSlicePrefix is p in the split layout, where each slice is the
// secret prefix+slice: reading another slice's secret whole is refused
// too.
func (p Policy) WithSlicePrefix(prefix string) Policy {
	p.prefix = prefix
	return p
}

func setOf(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

// Limited reports whether an allow-list limits the function to some
// slices.
func (p Policy) Limited() bool { return p.slices != nil }

// MayReadSlice reports whether the function may read slice.
func (p Policy) MayReadSlice(slice string) bool { return p.slices == nil || p.slices[slice] }

// MayAssume reports whether a read may be made under role. IAM is the real
// boundary; this keeps handler code from choosing roles the function's
// owner never meant it to use.
func (p Policy) MayAssume(role string) bool { return p.roles == nil || p.roles[role] }

// RefusesWhole reports whether v, read whole by a request that named
// requested (a secret id or a parameter name), must be refused: under an
// allow-list, the Starfleet secret itself, or Parameter Store's reference
// to it, would hand the function every slice.
func (p Policy) RefusesWhole(requested string, v *item.Value) bool {
	if !p.Limited() || v == nil {
		return false
	}
	if v.Parameter == nil {
		return p.isStarfleet(v.Name, v.ARN) || p.isOtherSlice(v.Name)
	}
	if !item.IsReference(requested) {
		return false
	}
	// The reference carries DescribeSecret's answer in SourceResult; its
	// own name may be the secret's, or the reference's. Any of them naming
	// the Starfleet secret refuses it.
	var source struct{ ARN, Name string }
	json.Unmarshal([]byte(v.Parameter.SourceResult), &source)
	for _, name := range []string{v.Name, source.Name, strings.TrimPrefix(v.Name, item.ReferencePrefix), strings.TrimPrefix(requested, item.ReferencePrefix)} {
		if p.isStarfleet(name, source.ARN) || p.isOtherSlice(name) {
			return true
		}
	}
	return false
}

// MayForward reports whether an operation may be passed to its service.
// One that could read values (a read the extension answers itself, asked
// for more than it keeps) may not under an allow-list: the extension
// cannot check what comes back.
func (p Policy) MayForward(readsValues bool) bool { return !readsValues || !p.Limited() }

// RefusesRequest reports whether a read of the secret requested (a name or
// an ARN) is refused before anything is fetched: in the split layout under
// an allow-list, the secret of a slice this function may not read, which
// would otherwise make an upstream call for it.
func (p Policy) RefusesRequest(requested string) bool {
	if p.prefix == "" || !p.Limited() {
		return false
	}
	name := requested
	if _, afterARN, ok := strings.Cut(requested, ":secret:"); ok && strings.HasPrefix(requested, "arn:") {
		name = afterARN
		// A full ARN ends in Secrets Manager's six-character suffix, a
		// partial one does not: refused only if both readings name
		// another slice.
		if n := len(name); n > 7 && name[n-7] == '-' {
			return p.isOtherSlice(name) && p.isOtherSlice(name[:n-7])
		}
	}
	return p.isOtherSlice(name)
}

// isOtherSlice reports whether the secret named name is, in the split
// layout, the secret of a slice this function may not read.
func (p Policy) isOtherSlice(name string) bool {
	slice, ok := strings.CutPrefix(name, p.prefix)
	return p.prefix != "" && ok && slice != "" && !p.MayReadSlice(slice)
}

// isStarfleet reports whether the secret of that name and ARN is the
// Starfleet secret.
func (p Policy) isStarfleet(name, arn string) bool { return item.IsSecret(p.starfleet, name, arn) }
