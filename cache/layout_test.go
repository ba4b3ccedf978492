package cache

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
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
	// The one Starfleet secret, read by name, is not what INIT warms in
	// this layout.
	if _, err := c.Get(t.Context(), primary, false); err != nil || c.Ready() {
		t.Errorf("after reading the one secret (%v): ready %v, want not ready", err, c.Ready())
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

// batchSource is a fakeSource that also reads batches, failing the call
// when fail is set and leaving out the ids in skip.
type batchSource struct {
	fakeSource
	batches   atomic.Int32
	failBatch bool
	missing   string // answered ResourceNotFound
	skip      string // not answered at all
}

func (b *batchSource) BatchGetSecretValue(ctx context.Context, keys []item.SecretKey) (map[item.SecretKey]*item.Value, map[item.SecretKey]*item.Error, error) {
	b.batches.Add(1)
	if b.failBatch {
		return nil, nil, &item.Error{Code: "ThrottlingException", Transient: true, Err: errors.New("Rate exceeded")}
	}
	found, failed := map[item.SecretKey]*item.Value{}, map[item.SecretKey]*item.Error{}
	for _, k := range keys {
		switch k.ID {
		case b.missing:
			failed[k] = &item.Error{Code: item.CodeNotFound, Err: errors.New("not found")}
		case b.skip:
		default:
			found[k] = &item.Value{Name: k.ID, VersionID: "b1", Text: []byte(`{"k":"` + k.ID + `"}`)}
		}
	}
	return found, failed, nil
}

// TestSplitLayoutPrefetchesInOneBatch: INIT reads the slices' secrets in
// one BatchGetSecretValue; what it does not answer, or all of them when the
// call fails, is read one by one; a slice it answers missing is an error.
func TestSplitLayoutPrefetchesInOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name            string
		src             *batchSource
		batches, single int32
		ready, failed   bool
	}{
		{"all answered", &batchSource{}, 1, 0, true, false},
		{"the call fails", &batchSource{failBatch: true}, 1, 3, true, false},
		{"one unanswered", &batchSource{skip: "P/b"}, 1, 1, true, false},
		{"one missing", &batchSource{missing: "P/c"}, 1, 0, false, true},
	} {
		tc.src.set(1, `{"single":true}`, nil)
		c := New(Options{Source: tc.src, Secrets: Rules{Policy: testPolicy(), FetchTimeout: 5 * time.Second}, Primary: primary, Size: 10,
			SlicePrefix: "P/", Slices: []string{"a", "b", "c"}})
		err := c.Prefetch(t.Context(), c.InitKeys())
		if n, m := tc.src.batches.Load(), tc.src.calls.Load(); n != tc.batches || m != tc.single {
			t.Errorf("%s: %d batch calls and %d single reads, want %d and %d", tc.name, n, m, tc.batches, tc.single)
		}
		if c.Ready() != tc.ready || (err != nil) != tc.failed {
			t.Errorf("%s: ready %v, error %v", tc.name, c.Ready(), err)
		}
		a, _ := c.Layout().Key("a")
		if res, err := c.Get(t.Context(), a, false); err != nil || tc.src.calls.Load() != tc.single {
			t.Errorf("%s: reading slice a after the prefetch: %v, %d single reads", tc.name, err, tc.src.calls.Load())
		} else if doc, err := res.Document(); err != nil || doc.Len() != 1 {
			t.Errorf("%s: slice a's document: %v", tc.name, err)
		}
		c.Close()
	}
}
