package migrate

import (
	"bytes"
	"testing"
)

func TestSplitAndJoinDocument(t *testing.T) {
	for _, doc := range []string{
		`{"A":1}`,
		"{\n  \"STARFLEET\": {\"SlackToken\": \"xoxb-1\"},\n  \"GitHubSyncWorker\" :\t{\"org\": \"-----BEGIN-----\\n\"}\n}\n",
		` { "z" : [1, 2] , "a\u00e9" : "s" , "m" : null } `,
		`{}`,
	} {
		members, f, err := splitDocument([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if got := joinDocument(members, &f); string(got) != doc {
			t.Errorf("join(split(%q)) = %q", doc, got)
		}
	}
	members, _, _ := splitDocument([]byte(`{"b": 2, "a": 1}`))
	if got := joinDocument(members, nil); string(got) != `{"b":2,"a":1}` {
		t.Errorf("without a frame: %s", got)
	}
	other := frame{Slices: []string{"b"}, Segments: []string{"{", "}"}}
	if got := joinDocument(members, &other); string(got) != `{"b":2,"a":1}` {
		t.Errorf("with a frame of other slices: %s", got)
	}
	for _, bad := range []string{`[1]`, `{"a":1,"a":2}`, `{"a":`, `"s"`, `{"a":1} x`, ``} {
		if _, _, err := splitDocument([]byte(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		} else if bytes.Contains([]byte(err.Error()), []byte(`1`)) && bad != `{"a":1,"a":2}` {
			t.Errorf("%q: the error %q may quote the input", bad, err)
		}
	}
}

// FuzzSplitJoin: whatever split accepts, join gives back byte for byte.
func FuzzSplitJoin(f *testing.F) {
	f.Add([]byte(`{"STARFLEET":{"SlackToken":"x"},"GitHubSyncWorker":{"org":"k"}}`))
	f.Add([]byte("{\n \"a\" : [ 1 ,2 ] }\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		members, fr, err := splitDocument(doc)
		if err != nil {
			return
		}
		if got := joinDocument(members, &fr); !bytes.Equal(got, doc) {
			t.Fatalf("join(split(%q)) = %q", doc, got)
		}
	})
}
