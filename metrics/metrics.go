// Package metrics counts what the extension does (reads, cache hits and
// misses, stale answers, upstream fetches) and writes the counts as
// CloudWatch Embedded Metric Format lines, which Lambda turns into metrics
// with no agent.
//
// It is a package of its own because the cache and the server both record
// into it and neither should own the other's counters.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder counts events. Its methods are safe for concurrent use and do
// nothing on a nil *Recorder, so recording is optional wherever it is done.
type Recorder struct {
	hits, misses, stale, negative atomic.Int64
	fetches                       atomic.Int64
	requests                      atomic.Int64
	// readsOK and readsNotModified count the answers of warm reads without
	// the lock: many workers read at once under Managed Instances.
	readsOK, readsNotModified atomic.Int64

	mu           sync.Mutex
	reads        map[int]int64    // by HTTP status
	errorsByCode map[string]int64 // failed fetches by AWS (or our) code
	fetchLatency []float64        // milliseconds, one per fetch
}

// maxLatencies bounds the latencies kept between two emissions (EMF takes
// at most 100 values per metric); later ones are dropped, their fetches
// still counted.
const maxLatencies = 100

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{reads: map[int]int64{}, errorsByCode: map[string]int64{}}
}

// Hit counts an answer served from memory without waiting on upstream.
func (r *Recorder) Hit() {
	if r != nil {
		r.hits.Add(1)
	}
}

// NegativeHit counts a "not found" or "access denied" answered from
// memory, with no upstream call.
func (r *Recorder) NegativeHit() {
	if r != nil {
		r.negative.Add(1)
	}
}

// Miss counts an answer that waited on an upstream fetch (whether it
// succeeded or not). Each answer from the cache is exactly one of a hit, a
// miss or a stale answer; one refused at once during a backoff is none.
func (r *Recorder) Miss() {
	if r != nil {
		r.misses.Add(1)
	}
}

// Stale counts an expired value served because upstream failed or was slow.
func (r *Recorder) Stale() {
	if r != nil {
		r.stale.Add(1)
	}
}

// Fetch counts one upstream fetch and how long it took; code is the error
// code of a failed fetch, empty for a successful one.
func (r *Recorder) Fetch(took time.Duration, code string) {
	if r == nil {
		return
	}
	r.fetches.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if code != "" {
		r.errorsByCode[code]++
	}
	if len(r.fetchLatency) < maxLatencies {
		r.fetchLatency = append(r.fetchLatency, float64(took.Microseconds())/1000)
	}
}

// Request counts one HTTP request sent to AWS. A fetch sends one, or more
// when it retries: AWS bills, and throttles, requests.
func (r *Recorder) Request() {
	if r != nil {
		r.requests.Add(1)
	}
}

// Read counts one answered data request by its HTTP status.
func (r *Recorder) Read(status int) {
	switch {
	case r == nil:
	case status == 200:
		r.readsOK.Add(1)
	case status == 304:
		r.readsNotModified.Add(1)
	default:
		r.mu.Lock()
		r.reads[status]++
		r.mu.Unlock()
	}
}

// Snapshot is the counts since the previous snapshot.
type Snapshot struct {
	Reads          map[int]int64
	Hits, Misses   int64
	Stale          int64
	NegativeHits   int64
	Fetches        int64
	Requests       int64
	FetchErrors    map[string]int64
	FetchLatencyMs []float64
}

// Empty reports whether nothing happened.
func (s Snapshot) Empty() bool {
	return len(s.Reads) == 0 && s.Hits == 0 && s.Misses == 0 && s.Stale == 0 && s.NegativeHits == 0 && s.Fetches == 0 && s.Requests == 0
}

// Take returns the counts since the previous Take and starts counting anew:
// each EMF line then carries its own interval's sums.
func (r *Recorder) Take() Snapshot {
	s := Snapshot{
		Hits:         r.hits.Swap(0),
		Misses:       r.misses.Swap(0),
		Stale:        r.stale.Swap(0),
		NegativeHits: r.negative.Swap(0),
		Fetches:      r.fetches.Swap(0),
		Requests:     r.requests.Swap(0),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Reads, r.reads = r.reads, map[int]int64{}
	for status, n := range map[int]int64{200: r.readsOK.Swap(0), 304: r.readsNotModified.Swap(0)} {
		if n > 0 {
			s.Reads[status] += n
		}
	}
	s.FetchErrors, r.errorsByCode = r.errorsByCode, map[string]int64{}
	s.FetchLatencyMs, r.fetchLatency = r.fetchLatency, nil
	return s
}

// EMF writes snapshots as Embedded Metric Format lines.
type EMF struct {
	Namespace string
	// Dimensions are added to every metric, e.g. FunctionName.
	Dimensions map[string]string
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type awsBlock struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Write writes s as EMF lines, one JSON object each: the totals under the
// base dimensions, reads per Status, and failed fetches per ErrorCode.
// It writes nothing for an empty snapshot.
func (e EMF) Write(w io.Writer, s Snapshot, now time.Time) error {
	if s.Empty() {
		return nil
	}
	var reads int64
	for _, n := range s.Reads {
		reads += n
	}
	var fetchErrors int64
	for _, n := range s.FetchErrors {
		fetchErrors += n
	}
	values := map[string]any{
		"Reads":            reads,
		"CacheHits":        s.Hits,
		"CacheMisses":      s.Misses,
		"StaleAnswers":     s.Stale,
		"NegativeHits":     s.NegativeHits,
		"UpstreamCalls":    s.Fetches,
		"UpstreamRequests": s.Requests,
		"UpstreamErrors":   fetchErrors,
	}
	defs := []metricDef{
		{"Reads", "Count"}, {"CacheHits", "Count"}, {"CacheMisses", "Count"},
		{"StaleAnswers", "Count"}, {"NegativeHits", "Count"}, {"UpstreamCalls", "Count"}, {"UpstreamRequests", "Count"}, {"UpstreamErrors", "Count"},
	}
	if len(s.FetchLatencyMs) > 0 {
		values["FetchLatency"] = s.FetchLatencyMs
		defs = append(defs, metricDef{"FetchLatency", "Milliseconds"})
	}
	if err := e.line(w, now, nil, values, defs); err != nil {
		return err
	}
	for _, status := range slices.Sorted(maps.Keys(s.Reads)) {
		extra := map[string]string{"Status": strconv.Itoa(status)}
		if err := e.line(w, now, extra, map[string]any{"Reads": s.Reads[status]}, []metricDef{{"Reads", "Count"}}); err != nil {
			return err
		}
	}
	for _, code := range slices.Sorted(maps.Keys(s.FetchErrors)) {
		extra := map[string]string{"ErrorCode": code}
		if err := e.line(w, now, extra, map[string]any{"UpstreamErrors": s.FetchErrors[code]}, []metricDef{{"UpstreamErrors", "Count"}}); err != nil {
			return err
		}
	}
	return nil
}

func (e EMF) line(w io.Writer, now time.Time, extra map[string]string, values map[string]any, defs []metricDef) error {
	dims := make([]string, 0, len(e.Dimensions)+len(extra))
	doc := make(map[string]any, len(values)+len(e.Dimensions)+len(extra)+1)
	for _, m := range []map[string]string{e.Dimensions, extra} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			dims = append(dims, k)
			doc[k] = m[k]
		}
	}
	maps.Copy(doc, values)
	doc["_aws"] = awsBlock{
		Timestamp:         now.UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: e.Namespace, Dimensions: [][]string{dims}, Metrics: defs}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode EMF: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Emitter writes a Recorder's counts at most once per Interval. It has no
// timer: Lambda freezes the process between invocations, so callers ask it
// at moments the process runs (each INVOKE, and SHUTDOWN).
type Emitter struct {
	Recorder *Recorder
	Format   EMF
	Out      io.Writer
	Interval time.Duration

	mu   sync.Mutex
	last time.Time
}

// MaybeEmit writes the counts if Interval has passed since the last write.
func (e *Emitter) MaybeEmit(now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.last.IsZero() && now.Sub(e.last) < e.Interval {
		return nil
	}
	return e.emitLocked(now)
}

// Emit writes the counts now, as at SHUTDOWN.
func (e *Emitter) Emit(now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.emitLocked(now)
}

func (e *Emitter) emitLocked(now time.Time) error {
	e.last = now
	return e.Format.Write(e.Out, e.Recorder.Take(), now)
}
