package jsonbody

import (
	"encoding/json"
	"testing"
)

// jsonStringSamples are strings whose JSON encoding has every kind of
// escape encoding/json makes.
var jsonStringSamples = []string{
	"", "plain", `{"user":"admin","password":"p<a>ss&wörd"}`, "quote\" backslash\\ slash/",
	"\x00\x01\x1f\x7f", "\b\f\n\r\t", "line\u2028para\u2029end", "bad\xffutf8\xc3", "\xed\xa0\x80 surrogate",
	"emoji 🚀 and 名前", "</script>",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonStringSamples {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringSamples {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}

func checkJSONString(t *testing.T, s string) {
	want, _ := json.Marshal(s)
	got := AppendString([]byte("x"), []byte(s))
	if string(got[1:]) != string(want) {
		t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
	}
	if n := StringLen([]byte(s)); n != len(want) {
		t.Fatalf("StringLen(%q) = %d, want %d", s, n, len(want))
	}
}
