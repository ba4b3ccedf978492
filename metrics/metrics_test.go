package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/metrics/metricstest"
)

func TestRecorderAndEMF(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			r.Hit()
			r.Read(200)
		})
	}
	wg.Wait()
	r.Miss()
	r.Stale()
	r.Read(404)
	r.Read(502)
	r.Fetch(25*time.Millisecond, "")
	r.Fetch(1500*time.Microsecond, "ThrottlingException")

	var out bytes.Buffer
	e := EMF{Namespace: "Test", Dimensions: map[string]string{"FunctionName": "fn"}}
	now := time.UnixMilli(1_700_000_000_000)
	if err := e.Write(&out, r.Take(), now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// totals, reads per status (200, 404, 502), errors per code (1)
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	var docs []map[string]any
	for _, l := range lines {
		doc, err := metricstest.CheckEMF([]byte(l), "Test")
		if err != nil {
			t.Fatalf("invalid EMF %v: %s", err, l)
		}
		docs = append(docs, doc)
	}
	total := docs[0]
	for name, want := range map[string]string{"Reads": "12", "CacheHits": "10", "CacheMisses": "1", "StaleAnswers": "1", "UpstreamCalls": "2", "UpstreamErrors": "1"} {
		if got := total[name].(json.Number).String(); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if lat := total["FetchLatency"].([]any); len(lat) != 2 || lat[0].(json.Number).String() != "25" || lat[1].(json.Number).String() != "1.5" {
		t.Errorf("FetchLatency = %v", lat)
	}
	if total["FunctionName"] != "fn" {
		t.Errorf("FunctionName = %v", total["FunctionName"])
	}
	if docs[1]["Status"] != "200" || docs[1]["Reads"].(json.Number).String() != "10" {
		t.Errorf("status line %v", docs[1])
	}
	if docs[4]["ErrorCode"] != "ThrottlingException" || docs[4]["UpstreamErrors"].(json.Number).String() != "1" {
		t.Errorf("error line %v", docs[4])
	}

	// Take started a new interval.
	if s := r.Take(); !s.Empty() {
		t.Errorf("second Take not empty: %+v", s)
	}
	out.Reset()
	e.Write(&out, r.Take(), now)
	if out.Len() != 0 {
		t.Errorf("an empty interval wrote %q", out.String())
	}
}

func TestNilRecorderIsANoOp(t *testing.T) {
	var r *Recorder
	r.Hit()
	r.Miss()
	r.Stale()
	r.Read(200)
	r.Fetch(time.Second, "x")
}

func TestEmitterAtMostOncePerInterval(t *testing.T) {
	r := New()
	var out bytes.Buffer
	e := &Emitter{Recorder: r, Format: EMF{Namespace: "T"}, Out: &out, Interval: time.Minute}
	t0 := time.Unix(1000, 0)
	r.Hit()
	e.MaybeEmit(t0)
	first := out.Len()
	if first == 0 {
		t.Fatal("the first call did not emit")
	}
	r.Hit()
	e.MaybeEmit(t0.Add(59 * time.Second))
	if out.Len() != first {
		t.Error("emitted twice within the interval")
	}
	e.MaybeEmit(t0.Add(time.Minute))
	if out.Len() == first {
		t.Error("did not emit after the interval")
	}
	second := out.Len()
	r.Hit()
	e.Emit(t0.Add(61 * time.Second))
	if out.Len() == second {
		t.Error("Emit (shutdown) did not write")
	}
}
