package item

import "testing"

// TestKeysAreDistinctReads: keys of different kinds, or of one kind under
// different scopes, are different map keys, and InRegion changes only the
// region.
func TestKeysAreDistinctReads(t *testing.T) {
	scope := Scope{RoleARN: "arn:aws:iam::111122223333:role/reader"}
	keys := []Key{
		SecretKey{ID: "x"}, ParameterKey{Name: "x"}, PathKey{Path: "x"},
		SecretKey{ID: "x", Scope: scope}, ParameterKey{Name: "x", WithDecryption: true}, PathKey{Path: "x", Recursive: true},
	}
	seen := map[Key]int{}
	for i, k := range keys {
		if j, ok := seen[k]; ok {
			t.Errorf("keys %d and %d are one map key: %v", j, i, k)
		}
		seen[k] = i
	}
	moved := InRegion(SecretKey{ID: "x", Scope: scope}, "eu-west-1")
	if got := ScopeOf(moved); got != (Scope{RoleARN: scope.RoleARN, Region: "eu-west-1"}) {
		t.Errorf("InRegion scope = %+v", got)
	}
	if s := moved.(SecretKey); s.ID != "x" {
		t.Errorf("InRegion changed the key: %+v", s)
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want Key }{
		{SecretKey{ID: "x"}, SecretKey{ID: "x", VersionStage: StageCurrent}},
		{SecretKey{ID: "x", VersionID: "v"}, SecretKey{ID: "x", VersionID: "v"}},
		{SecretKey{ID: "x", VersionStage: "AWSPREVIOUS"}, SecretKey{ID: "x", VersionStage: "AWSPREVIOUS"}},
		{ParameterKey{Name: "x"}, ParameterKey{Name: "x"}},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// TestNamesForMessages: a key names its service and itself, never more.
func TestNamesForMessages(t *testing.T) {
	for _, c := range []struct {
		key              Key
		service, message string
	}{
		{SecretKey{ID: "db"}, ServiceSecretsManager, `secret "db"`},
		{ParameterKey{Name: "/a"}, ServiceParameterStore, `parameter "/a"`},
		{PathKey{Path: "/p"}, ServiceParameterStore, `parameters under "/p"`},
	} {
		if c.key.Service() != c.service || c.key.String() != c.message || len(c.key.LogAttrs())%2 != 0 {
			t.Errorf("%#v: %q %q %v", c.key, c.key.Service(), c.key.String(), c.key.LogAttrs())
		}
	}
}
