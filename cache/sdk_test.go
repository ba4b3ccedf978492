package cache

import (
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// Reads the SDK's protocol makes of the cache: batches of parameters, pages
// of a path, and the invalidation a write through the extension causes.

func TestGetParametersReadsWhatIsMissingInOneCall(t *testing.T) {
	params := &fakeParameters{values: map[string]string{"/a": "1", "/b": "2", "/c": "3"}}
	c, _ := newParameterCache(t, params, testPolicy(), testPolicy())
	if _, err := c.Get(t.Context(), item.ParameterKey{Name: "/a"}, false); err != nil {
		t.Fatal(err)
	}
	keys := []item.ParameterKey{{Name: "/a"}, {Name: "/b"}, {Name: "/missing"}, {Name: "/c"}}
	results, errs := c.GetParameters(t.Context(), keys)
	for i, want := range []string{"1", "2", "", "3"} {
		switch {
		case want == "" && upstream.Classify("", errs[i]).Code != "ParameterNotFound":
			t.Errorf("%s: %v, want ParameterNotFound", keys[i].Name, errs[i])
		case want != "" && (errs[i] != nil || string(results[i].Value.Text) != want):
			t.Errorf("%s: %+v %v, want %s", keys[i].Name, results[i], errs[i], want)
		}
	}
	if len(params.single) != 1 || len(params.batches) != 1 || len(params.batches[0]) != 3 {
		t.Fatalf("single reads %v, batches %v; want /a alone, then one batch of the three others", params.single, params.batches)
	}
	// Now every one is answered from memory, the missing one too.
	c.GetParameters(t.Context(), keys)
	if len(params.single)+len(params.batches) != 2 {
		t.Errorf("a second GetParameters called upstream: single %v, batches %v", params.single, params.batches)
	}
}

func TestPathPagesAreCachedPerPathAndFlags(t *testing.T) {
	params := &fakeParameters{values: map[string]string{"/app/a": "1", "/app/b": "2", "/other": "3"}}
	c, _ := newParameterCache(t, params, testPolicy(), testPolicy())
	page := item.PathKey{Path: "/app", Recursive: true}
	for range 3 {
		res, err := c.Get(t.Context(), page, false)
		if err != nil || len(res.Value.Parameters) != 2 {
			t.Fatalf("%+v %v", res.Value, err)
		}
	}
	c.Get(t.Context(), item.PathKey{Path: "/app", Recursive: true, WithDecryption: true}, false)
	c.Get(t.Context(), item.PathKey{Path: "/app", Recursive: true, PageSize: 1}, false)
	if len(params.single) != 3 {
		t.Errorf("%d upstream reads, want one per path and flags: %v", len(params.single), params.single)
	}
}

func TestInvalidateDropsWhatAWriteMadeStale(t *testing.T) {
	params := &fakeParameters{values: map[string]string{"/a": "1", "/b": "2"}}
	c, src := newParameterCache(t, params, testPolicy(), testPolicy())
	src.set(1, `{"S":1}`, nil)
	for _, k := range []item.Key{primary, item.SecretKey{ID: "db"}, item.ParameterKey{Name: "/a"}, item.ParameterKey{Name: "/b"}, item.ParameterKey{Name: "/missing"}} {
		c.Get(t.Context(), k, false)
	}
	calls := src.calls.Load()
	c.Invalidate(func(k item.Key, v *item.Value) bool {
		p, _ := k.(item.ParameterKey)
		return p.Name == "/a" || v.Name == "Starfleet"
	})

	c.Get(t.Context(), item.SecretKey{ID: "db"}, false)
	c.Get(t.Context(), item.ParameterKey{Name: "/b"}, false)
	if src.calls.Load() != calls || len(params.single) != 3 {
		t.Fatalf("values the write left alone were fetched again")
	}
	c.Get(t.Context(), item.ParameterKey{Name: "/a"}, false)
	c.Get(t.Context(), item.ParameterKey{Name: "/missing"}, false)
	if len(params.single) != 5 {
		t.Errorf("the stale parameter and the remembered miss were not fetched again: %v", params.single)
	}
	if !c.Ready() {
		t.Error("the Starfleet secret, expired by the write, made the cache not ready")
	}
	src.set(2, `{"S":2}`, nil)
	if res, err := c.Get(t.Context(), primary, false); err != nil || res.Value.VersionID != "v2" {
		t.Errorf("the Starfleet secret after a write: %+v %v, want v2", res.Value, err)
	}
}

// TestInvalidateOutrunsAFetchInFlight: a fetch that started before a
// write does not store what it read, and a read after the write fetches
// again rather than joining it.
func TestInvalidateOutrunsAFetchInFlight(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), started: make(chan struct{}, 4)}
	src.set(1, `{}`, nil)
	c := New(Options{Source: src, Secrets: Rules{Policy: testPolicy(), FetchTimeout: 10e9}, Primary: primary, Size: 10})
	t.Cleanup(c.Close)
	key := item.SecretKey{ID: "db"}
	var wg sync.WaitGroup
	wg.Go(func() { c.Get(t.Context(), key, false) })
	<-src.started
	c.Invalidate(func(item.Key, *item.Value) bool { return true })
	src.set(2, `{}`, nil)
	wg.Go(func() {
		if res, err := c.Get(t.Context(), key, false); err != nil || res.Value.VersionID != "v2" {
			t.Errorf("read after the write: %+v %v, want v2", res.Value, err)
		}
	})
	<-src.started
	close(src.gate)
	wg.Wait()
	if res, _ := c.Get(t.Context(), key, false); res.Value.VersionID != "v2" {
		t.Errorf("cached %s after the write, want v2", res.Value.VersionID)
	}
}

// TestReadYourWritesOfTheStarfleetSecret: after a write of the Starfleet
// secret through the extension, a read answers what was written, in every
// execution model: where expired values are otherwise served at once while
// they refresh (Managed Instances, the local sidecar), where a read waits
// a second at most, and while upstream was failing before the write. Only
// when the fetch after the write fails is the old value served, marked
// stale.
func TestReadYourWritesOfTheStarfleetSecret(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy func() Policy
		before error // upstream's state before the write
	}{
		{"refresh ahead, never waiting", func() Policy { p := testPolicy(); p.NeverWait = true; return p }, nil},
		{"waiting a second at most", func() Policy { p := testPolicy(); p.RefreshWait = time.Second; return p }, nil},
		{"upstream failing until the write", testPolicy, throttling()},
	} {
		src := &fakeSource{}
		c, clock := newTestCache(t, src, tc.policy())
		src.set(1, `{"S":1}`, nil)
		if _, err := c.Get(t.Context(), primary, false); err != nil {
			t.Fatal(err)
		}
		if tc.before != nil {
			// The value expires and a refresh fails: the cache backs off,
			// serving the old value stale.
			clock.Advance(c.secrets.Policy.TTL)
			src.set(1, `{"S":1}`, tc.before)
			c.Get(t.Context(), primary, false)
		}
		c.Invalidate(func(k item.Key, v *item.Value) bool { return v.Name == "Starfleet" })
		src.set(2, `{"S":2}`, nil)
		res, err := c.Get(t.Context(), primary, false)
		if err != nil || res.Value.VersionID != "v2" || res.Stale {
			t.Errorf("%s: read after the write %+v %v, want v2, fresh", tc.name, res.Value, err)
		}

		c.Invalidate(func(k item.Key, v *item.Value) bool { return v.Name == "Starfleet" })
		src.set(3, `{"S":3}`, throttling())
		res, err = c.Get(t.Context(), primary, false)
		if err != nil || res.Value.VersionID != "v2" || !res.Stale {
			t.Errorf("%s: upstream failing after a write: %+v %v, want v2 marked stale", tc.name, res.Value, err)
		}
	}
}
