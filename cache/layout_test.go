package cache

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
)

// TestSplitLayout: each slice's secret is read as a document of that slice
// (fields, ETag), the cache is ready once every slice's secret is, and a
// slice's secret that is not JSON is refused without its content.
func TestSplitLayout(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"starfleet-org":"-----BEGIN KEY-----"}`, nil)
	c := New(Options{Source: src, Secrets: Rules{Policy: testPolicy(), FetchTimeout: 5 * time.Second}, Primary: primary, Size: 10,
		SlicePrefix: "Starfleet/", Slices: []string{"STARFLEET", "GitHubSyncWorker", "GitHubSyncWorker"}})
	t.Cleanup(c.Close)
	layout := c.Layout()
	if !layout.Split() || len(layout.Slices) != 2 || layout.Slices[0] != "GitHubSyncWorker" {
		t.Fatalf("layout %+v", layout)
	}
	if keys := c.InitKeys(); len(keys) != 2 {
		t.Fatalf("InitKeys = %v", keys)
	}
	if _, ok := layout.Key("Other"); ok {
		t.Error("a slice the layout does not list has a key")
	}
	github, _ := layout.Key("GitHubSyncWorker")
	if sk := github.(item.SecretKey); sk.ID != "Starfleet/GitHubSyncWorker" || sk.VersionStage != item.StageCurrent {
		t.Errorf("the slice's key is %+v", sk)
	}
	res, err := c.Get(t.Context(), github, false)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := res.Document()
	if err != nil {
		t.Fatal(err)
	}
	sl, ok := doc.Slice("GitHubSyncWorker")
	if !ok || string(sl.Raw) != `{"starfleet-org":"-----BEGIN KEY-----"}` || sl.ETag == "" || doc.Len() != 1 {
		t.Fatalf("the slice's document: %+v", doc)
	}
	if v, found, isObject := sl.Field("starfleet-org"); !found || !isObject || string(v) != `"-----BEGIN KEY-----"` {
		t.Errorf("field: %s %v %v", v, found, isObject)
	}
	if c.Ready() {
		t.Error("ready with one of two slices fetched")
	}

	src.set(1, `not json: xoxb-secret`, nil)
	slack, _ := layout.Key("STARFLEET")
	res, err = c.Get(t.Context(), slack, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Document()
	var ierr *item.Error
	if !errors.As(err, &ierr) || ierr.Code != item.CodeNotJSONObject || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("a slice secret that is not JSON: %v", err)
	}
	if !c.Ready() {
		t.Error("not ready with every slice's secret fetched")
	}
	other, err := c.Get(t.Context(), item.SecretKey{ID: "Starfleet/Other"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Document(); err == nil {
		t.Error("a secret the layout does not list was parsed as a slice")
	}
}
