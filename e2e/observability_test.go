package e2e

// Observability end to end: the EMF metrics and the info log of a real
// process agree with what its callers saw.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/metrics/metricstest"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// emfTotals sums the EMF lines of a process's output.
type emfTotals struct {
	lines, totalsLines                      int
	reads, hits, misses, stale, calls, errs int
	requests                                int
	readsByStatus                           map[string]int
	errorsByCode                            map[string]int
	latencies                               int
}

func sumEMF(t *testing.T, output, namespace, function string) emfTotals {
	t.Helper()
	s := emfTotals{readsByStatus: map[string]int{}, errorsByCode: map[string]int{}}
	n := func(doc map[string]any, name string) int {
		v, _ := doc[name].(json.Number).Int64()
		return int(v)
	}
	for _, line := range strings.Split(output, "\n") {
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		doc, err := metricstest.CheckEMF([]byte(line), namespace)
		if err != nil {
			t.Fatalf("invalid EMF line (%v): %s", err, line)
		}
		if doc["FunctionName"] != function {
			t.Errorf("FunctionName %v in %s", doc["FunctionName"], line)
		}
		s.lines++
		switch {
		case doc["Status"] != nil:
			s.readsByStatus[doc["Status"].(string)] += n(doc, "Reads")
		case doc["ErrorCode"] != nil:
			s.errorsByCode[doc["ErrorCode"].(string)] += n(doc, "UpstreamErrors")
		default:
			s.totalsLines++
			s.reads += n(doc, "Reads")
			s.hits += n(doc, "CacheHits")
			s.misses += n(doc, "CacheMisses")
			s.stale += n(doc, "StaleAnswers")
			s.calls += n(doc, "UpstreamCalls")
			s.requests += n(doc, "UpstreamRequests")
			s.errs += n(doc, "UpstreamErrors")
			if lat, ok := doc["FetchLatency"].([]any); ok {
				s.latencies += len(lat)
			}
		}
	}
	return s
}

// logEvents counts the info-level log lines by event.
func logEvents(t *testing.T, output string) map[string]int {
	t.Helper()
	events := map[string]int{}
	for _, line := range strings.Split(output, "\n") {
		if !strings.Contains(line, `"level"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		event, _ := rec["event"].(string)
		if event == "" || rec["msg"] == nil || rec["time"] == nil {
			t.Errorf("log line without event, msg or time: %s", line)
		}
		if rec["level"] == "DEBUG" {
			t.Errorf("debug line at info level: %s", line)
		}
		switch event {
		case "upstream_fetch":
			if rec["duration_ms"] == nil || rec["status"] == nil || rec["secret_id"] == nil {
				t.Errorf("upstream_fetch line lacks fields: %s", line)
			}
			if rec["status"] == "error" && rec["aws_error_code"] == nil {
				t.Errorf("failed fetch without aws_error_code: %s", line)
			}
		case "request_error":
			if rec["status"] == nil {
				t.Errorf("request_error without status: %s", line)
			}
		}
		events[event]++
	}
	return events
}

func TestMetricsAndLogsTellTheStory(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=2s", "STARFLEET_SECRETS_LOG_LEVEL=info", "AWS_LAMBDA_FUNCTION_NAME=obs-fn"))
	l.waitInit()

	statuses := map[string]int{}
	requests, cacheAnswers, staleSeen := 0, 1, 0 // the prefetch is a cache answer too
	do := func(path string, header ...string) answer {
		a := l.get("GET", path, header...)
		requests++
		statuses[strconv.Itoa(a.status)]++
		if a.status != 403 {
			cacheAnswers++
		}
		if a.header.Get("Warning") != "" {
			staleSeen++
		}
		return a
	}

	l.invoke() // the first INVOKE emits the init phase's metrics
	for range 3 {
		do("/secret/STARFLEET")
	}
	do("/secret/Missing")
	do("/secret/STARFLEET", "X-Aws-Parameters-Secrets-Token", "wrong")

	// A rotation, seen after the TTL.
	putSecret(t, strings.Replace(starfleetSecret, "Q7d9Lm2v", "ROTATED2", 1))
	if !poll(t, 15*time.Second, 200*time.Millisecond, func() bool { return strings.Contains(do("/secret/STARFLEET").body, "ROTATED2") }) {
		t.Fatal("rotation not seen")
	}

	// An outage: stale answers until it is over.
	l.proxy.SetFault("GetSecretValue", upstreamtest.Throttle)
	if !poll(t, 15*time.Second, 200*time.Millisecond, func() bool {
		l.invoke()
		do("/secret/STARFLEET")
		return staleSeen >= 3
	}) {
		t.Fatal("no stale answers")
	}

	// /health names the failure and the version, never the value.
	health := l.get("GET", "/health")
	var hb struct {
		Status        string `json:"status"`
		AgeSeconds    *int   `json:"secret_age_s"`
		VersionID     string `json:"version_id"`
		LastErrorCode string `json:"last_error_code"`
	}
	if err := json.Unmarshal([]byte(health.body), &hb); err != nil || health.status != 200 || hb.Status != "ready" ||
		hb.AgeSeconds == nil || hb.VersionID == "" || hb.LastErrorCode != "ThrottlingException" {
		t.Errorf("/health = %d %s", health.status, health.body)
	}
	if strings.Contains(health.body, "ROTATED2") || strings.Contains(health.body, "xoxb") {
		t.Errorf("/health leaks the secret: %s", health.body)
	}

	// The outage ends. A fresh answer means the fetch that produced it has
	// finished, and with the value fresh none follows before SHUTDOWN: no
	// fetch is cut off halfway, so the proxy's count below is exact.
	l.proxy.ClearFaults()
	if !poll(t, 30*time.Second, 200*time.Millisecond, func() bool { return do("/secret/STARFLEET").header.Get("Warning") == "" }) {
		t.Fatal("no fresh answer after the outage")
	}

	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Fatalf("shutdown %+v", res)
	}
	out := l.output.String()
	m := sumEMF(t, out, "StarfleetSecrets", "obs-fn")
	t.Logf("EMF: %+v", m)

	if m.totalsLines < 2 {
		t.Errorf("%d totals lines; want one at the first INVOKE and one at SHUTDOWN", m.totalsLines)
	}
	if m.reads != requests {
		t.Errorf("Reads = %d, the test sent %d", m.reads, requests)
	}
	for status, n := range statuses {
		if m.readsByStatus[status] != n {
			t.Errorf("Reads{Status=%s} = %d, want %d", status, m.readsByStatus[status], n)
		}
	}
	if got := m.hits + m.misses + m.stale; got != cacheAnswers {
		t.Errorf("hits %d + misses %d + stale %d = %d, want %d cache answers", m.hits, m.misses, m.stale, got, cacheAnswers)
	}
	if m.stale != staleSeen {
		t.Errorf("StaleAnswers = %d, the test saw %d stale answers", m.stale, staleSeen)
	}
	if m.hits < 4 || m.misses < 1 {
		t.Errorf("hits %d, misses %d", m.hits, m.misses)
	}
	if m.errs < 1 || m.errorsByCode["ThrottlingException"] != m.errs {
		t.Errorf("UpstreamErrors %d, by code %v", m.errs, m.errorsByCode)
	}
	// Each failed fetch made every attempt; each good one, one.
	if l.upstreamCalls() != m.requests {
		t.Errorf("proxy saw %d GetSecretValue calls; UpstreamRequests %d", l.upstreamCalls(), m.requests)
	}
	// Each failed fetch made every attempt; each good one at least one.
	if least := (m.calls - m.errs) + m.errs*upstream.MaxAttempts; m.requests < least {
		t.Errorf("UpstreamRequests %d; UpstreamCalls %d with %d errors implies at least %d", m.requests, m.calls, m.errs, least)
	}
	if m.latencies != m.calls {
		t.Errorf("%d latencies for %d fetches", m.latencies, m.calls)
	}

	events := logEvents(t, out)
	t.Logf("log events: %v", events)
	for event, want := range map[string]int{"register": 1, "listen": 1, "prefetch": 1, "upstream_fetch": m.calls,
		"request_error": statuses["403"] + statuses["404"], "read": 0} {
		if events[event] != want {
			t.Errorf("%d %q log lines, want %d", events[event], event, want)
		}
	}
	if events["shutdown"] < 1 {
		t.Error("no shutdown log line")
	}
}

// emittedMetrics lists what the extension writes: each metric name with the
// dimension names it carries, from an EMF rendering of a snapshot in which
// every count is set.
func emittedMetrics(t *testing.T, namespace string) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	snap := metrics.Snapshot{Reads: map[int]int64{200: 1}, Hits: 1, Misses: 1, Stale: 1, NegativeHits: 1, Fetches: 1, Requests: 1,
		FetchErrors: map[string]int64{"ThrottlingException": 1}, FetchLatencyMs: []float64{1}}
	if err := (metrics.EMF{Namespace: namespace, Dimensions: map[string]string{"FunctionName": "fn"}}).Write(&out, snap, time.Now()); err != nil {
		t.Fatal(err)
	}
	emitted := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		doc, err := metricstest.CheckEMF([]byte(line), namespace)
		if err != nil {
			t.Fatal(err)
		}
		directive := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		var dims []string
		for _, d := range directive["Dimensions"].([]any)[0].([]any) {
			dims = append(dims, d.(string))
		}
		slices.Sort(dims)
		for _, m := range directive["Metrics"].([]any) {
			emitted[m.(map[string]any)["Name"].(string)+" "+strings.Join(dims, ",")] = true
		}
	}
	return emitted
}

// TestDashboardCopiesAreTheSource: the CDK package and the Terraform module
// each ship a copy of examples/dashboard/dashboard.json, so that each works
// alone; a copy that drifted from the source fails here.
func TestDashboardCopiesAreTheSource(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	source, err := os.ReadFile(filepath.Join(root, "examples", "dashboard", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"cdk", "terraform"} {
		copied, err := os.ReadFile(filepath.Join(root, "examples", pkg, "dashboard.json"))
		if err != nil || !bytes.Equal(copied, source) {
			t.Errorf("examples/%s/dashboard.json is not examples/dashboard/dashboard.json (%v): run make dashboards", pkg, err)
		}
	}
}

// TestDashboardAndAlarmsGraphWhatTheExtensionEmits: every metric the
// shipped dashboard and alarms use is one the extension writes, with the
// same namespace and dimensions; the SAM template creates the dashboard
// of examples/dashboard exactly.
func TestDashboardAndAlarmsGraphWhatTheExtensionEmits(t *testing.T) {
	t.Parallel()
	const namespace = "StarfleetSecrets" // the default of STARFLEET_SECRETS_METRICS_NAMESPACE
	emitted := emittedMetrics(t, namespace)
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "examples", "dashboard", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer("${Namespace}", namespace, "${FunctionName}", "fn", "${AWS::Region}", "us-east-1").Replace(string(raw))
	var dashboard struct {
		Widgets []struct {
			Properties struct{ Metrics [][]any }
		}
	}
	if err := json.Unmarshal([]byte(body), &dashboard); err != nil {
		t.Fatal(err)
	}
	search := regexp.MustCompile(`SEARCH\('\{([^}]*)\} FunctionName="fn" MetricName="(\w+)"`)
	graphed := 0
	for _, w := range dashboard.Widgets {
		for _, m := range w.Properties.Metrics {
			var name string
			var dims []string
			if expr, ok := m[0].(map[string]any); ok {
				found := search.FindStringSubmatch(expr["expression"].(string))
				if found == nil {
					t.Errorf("an expression the test cannot read: %v", expr["expression"])
					continue
				}
				schema := strings.Split(found[1], ",")
				if schema[0] != namespace {
					t.Errorf("SEARCH in namespace %q", schema[0])
				}
				name, dims = found[2], schema[1:]
			} else {
				if m[0] != namespace {
					t.Errorf("metric %v in namespace %v", m, m[0])
				}
				name = m[1].(string)
				for i := 2; i+1 < len(m); i += 2 {
					if d, ok := m[i].(string); ok {
						dims = append(dims, d)
					}
				}
			}
			slices.Sort(dims)
			if !emitted[name+" "+strings.Join(dims, ",")] {
				t.Errorf("the dashboard graphs %s by %v, which the extension does not emit", name, dims)
			}
			graphed++
		}
	}
	if graphed < 10 {
		t.Errorf("%d metrics graphed", graphed)
	}

	stdout := samTemplateJSON(t, root)
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(stdout), &tpl); err != nil {
		t.Fatal(err)
	}
	alarms := 0
	for name, r := range tpl.Resources {
		switch r.Type {
		case "AWS::CloudWatch::Dashboard":
			var sub struct {
				Sub []json.RawMessage `json:"Fn::Sub"`
			}
			var inline string
			var vars map[string]any
			if json.Unmarshal(r.Properties["DashboardBody"], &sub) != nil || len(sub.Sub) != 2 ||
				json.Unmarshal(sub.Sub[0], &inline) != nil || json.Unmarshal(sub.Sub[1], &vars) != nil {
				t.Fatalf("%s: DashboardBody is not !Sub [body, variables]: %s", name, r.Properties["DashboardBody"])
			}
			var fromTemplate, fromFile any
			if err := json.Unmarshal([]byte(inline), &fromTemplate); err != nil {
				t.Fatalf("%s: the body is not JSON: %v", name, err)
			}
			if err := json.Unmarshal(raw, &fromFile); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromTemplate, fromFile) {
				t.Errorf("%s differs from examples/dashboard/dashboard.json", name)
			}
			if vars["Namespace"] != namespace {
				t.Errorf("%s: Namespace %v", name, vars["Namespace"])
			}
		case "AWS::CloudWatch::Alarm":
			alarms++
			var ns, metric string
			var dims []struct{ Name string }
			json.Unmarshal(r.Properties["Namespace"], &ns)
			json.Unmarshal(r.Properties["MetricName"], &metric)
			json.Unmarshal(r.Properties["Dimensions"], &dims)
			var names []string
			for _, d := range dims {
				names = append(names, d.Name)
			}
			slices.Sort(names)
			if ns != namespace || !emitted[metric+" "+strings.Join(names, ",")] {
				t.Errorf("alarm %s on %s %s by %v, which the extension does not emit", name, ns, metric, names)
			}
		}
	}
	if alarms != 2 {
		t.Errorf("%d alarms in the SAM template, want 2 (upstream failing, values served stale)", alarms)
	}
}
