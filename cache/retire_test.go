package cache

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
)

// wipes collects the wipes a cache schedules, so that a test runs them
// when it chooses, as the timer would.
type wipes struct {
	mu    sync.Mutex
	after []time.Duration
	fns   []func()
}

func (w *wipes) afterFunc(d time.Duration, f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.after, w.fns = append(w.after, d), append(w.fns, f)
}

// run runs every wipe scheduled so far and says how many.
func (w *wipes) run() int {
	w.mu.Lock()
	fns := w.fns
	w.fns = nil
	w.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return len(fns)
}

func newRetiringCache(t *testing.T, src Source) (*Cache, *wipes, func(time.Duration)) {
	t.Helper()
	c, clock := newTestCache(t, src, testPolicy())
	w := &wipes{}
	c.afterFunc = w.afterFunc
	return c, w, clock.Advance
}

func zeroed(b []byte) bool { return len(b) > 0 && bytes.Count(b, []byte{0}) == len(b) }

// TestRotationWipesTheReplacedValue: the value a rotation replaced stays
// intact for a reader still holding it, then is wiped, its slices too; the
// new value is untouched.
func TestRotationWipesTheReplacedValue(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"STARFLEET":{"SlackToken":"xoxb-one"}}`, nil)
	c, w, advance := newRetiringCache(t, src)
	old, err := c.Get(t.Context(), primary, false)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := old.Document()
	if err != nil {
		t.Fatal(err)
	}
	slice, _ := doc.Slice("STARFLEET")

	src.set(2, `{"STARFLEET":{"SlackToken":"xoxb-two"}}`, nil)
	advance(testPolicy().TTL)
	cur, err := c.Get(t.Context(), primary, false)
	if err != nil || cur.Value.VersionID != "v2" {
		t.Fatalf("after the TTL: %+v, %v", cur, err)
	}
	if len(w.after) != 1 || w.after[0] != defaultRetireAfter {
		t.Fatalf("wipes scheduled after %v, want one after %v", w.after, defaultRetireAfter)
	}
	if string(old.Value.Text) != `{"STARFLEET":{"SlackToken":"xoxb-one"}}` {
		t.Fatal("the replaced value was wiped before a reader could be done with it")
	}
	w.run()
	if !zeroed(old.Value.Text) || !zeroed(slice.Raw) {
		t.Errorf("after retirement the replaced value is %q, its slice %q; want zeros", old.Value.Text, slice.Raw)
	}
	if string(cur.Value.Text) != `{"STARFLEET":{"SlackToken":"xoxb-two"}}` {
		t.Errorf("the current value was touched: %q", cur.Value.Text)
	}
}

// TestEvictionAndWritesWipeTheDroppedValue: a value the LRU evicts, or a
// write through the extension drops, is wiped once retired.
func TestEvictionAndWritesWipeTheDroppedValue(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"k":"v"}`, nil)
	c, w, _ := newRetiringCache(t, src)
	var held []*item.Value
	for _, id := range []string{"a", "b", "c", "d"} { // Size 3: a is evicted
		res, err := c.Get(t.Context(), item.SecretKey{ID: id}, false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, res.Value)
	}
	if n := w.run(); n != 1 || !zeroed(held[0].Text) || zeroed(held[1].Text) {
		t.Errorf("eviction: %d wipes; a %q, b %q; want a alone wiped", n, held[0].Text, held[1].Text)
	}
	c.Invalidate(func(k item.Key, _ *item.Value) bool { sk, ok := k.(item.SecretKey); return ok && sk.ID == "b" })
	if n := w.run(); n != 1 || !zeroed(held[1].Text) || zeroed(held[2].Text) {
		t.Errorf("write: %d wipes; b %q, c %q; want b alone wiped", n, held[1].Text, held[2].Text)
	}
}

// TestRetirementSparesAValueStillCached: an entry that failed to refresh
// keeps its predecessor's value, which is therefore not retired; and a
// retirement whose value the key's entry holds again wipes nothing.
func TestRetirementSparesAValueStillCached(t *testing.T) {
	src := &fakeSource{}
	src.set(1, `{"A":"one"}`, nil)
	c, w, advance := newRetiringCache(t, src)
	res, err := c.Get(t.Context(), primary, false)
	if err != nil {
		t.Fatal(err)
	}
	src.set(1, "", errors.New("upstream down"))
	advance(testPolicy().TTL)
	if stale, err := c.Get(t.Context(), primary, false); err != nil || !stale.Stale {
		t.Fatalf("with upstream down after the TTL: %+v, %v; want the stale value", stale, err)
	}
	if n := len(w.after); n != 0 {
		t.Errorf("%d wipes scheduled for a value still served", n)
	}
	c.retire(primary, c.peek(primary))
	w.run()
	if string(res.Value.Text) != `{"A":"one"}` {
		t.Errorf("a retirement wiped the value the cache still serves: %q", res.Value.Text)
	}
}
