package cache

import (
	"slices"

	"github.com/starfleet/starfleet-secrets/item"
)

// Layout is where the Starfleet secret's slices are kept: in one secret,
// the primary (the zero Layout), or in the split layout one secret each,
// named a prefix and the slice, so that IAM can grant each function exactly
// the slices it reads.
type Layout struct {
	// Prefix is the split layout's prefix; empty for one secret.
	Prefix string
	// Slices names the split layout's slices, sorted: what /secret
	// assembles and /health reports.
	Slices []string
	// sliceKeys are the slices' keys, boxed once, in the order of Slices.
	sliceKeys []item.Key
	keys      map[string]item.Key // by slice
	names     map[item.Key]string // and back
}

// newLayout is the split layout of slices under prefix, read in scope (the
// Starfleet secret's region); the zero Layout when prefix is empty.
func newLayout(prefix string, names []string, scope item.Scope) Layout {
	if prefix == "" {
		return Layout{}
	}
	l := Layout{Prefix: prefix, Slices: slices.Sorted(slices.Values(names)),
		keys: make(map[string]item.Key, len(names)), names: make(map[item.Key]string, len(names))}
	l.Slices = slices.Compact(l.Slices)
	for _, name := range l.Slices {
		key := item.SecretKey{Scope: scope, ID: prefix + name, VersionStage: item.StageCurrent}.Normalize()
		l.keys[name], l.names[key] = key, name
		l.sliceKeys = append(l.sliceKeys, key)
	}
	return l
}

// Split reports whether each slice is its own secret.
func (l Layout) Split() bool { return l.Prefix != "" }

// Key is the key of slice's secret in the split layout; false for a slice
// the layout does not have.
func (l Layout) Key(slice string) (item.Key, bool) {
	k, ok := l.keys[slice]
	return k, ok
}

// sliceOf is the slice whose secret key is.
func (l Layout) sliceOf(key item.Key) (string, bool) {
	name, ok := l.names[key]
	return name, ok
}
