package report

import (
	"testing"
	"time"
)

const wrkSample = `Running 1s test @ http://127.0.0.1:8080/secret/GitHubSyncWorker
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.32ms    1.86ms  29.63ms   91.99%
    Req/Sec    27.30k     1.50k   29.00k    80.00%
  Latency Distribution
     50%  751.00us
     75%    1.10ms
     90%    2.50ms
     99%    9.31ms
  27164 requests in 1.00s, 12.95MB read
Requests/sec:  27164.32
Transfer/sec:     12.95MB
`

func TestParseWrk(t *testing.T) {
	res, err := ParseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if res.RPS != 27164.32 || res.P50 != 751*time.Microsecond || res.P99 != 9310*time.Microsecond || res.Requests != 27164 {
		t.Errorf("ParseWrk = %+v", res)
	}
	if res.Non2xx != 0 || res.SockErrors != "" {
		t.Errorf("errors reported in a clean run: %+v", res)
	}

	bad := wrkSample + "  Non-2xx or 3xx responses: 12\n  Socket errors: connect 0, read 3, write 0, timeout 0\n"
	res, err = ParseWrk(bad)
	if err != nil || res.Non2xx != 12 || res.SockErrors != "connect 0, read 3, write 0, timeout 0" {
		t.Errorf("ParseWrk with errors = %+v, %v", res, err)
	}
	if _, err := ParseWrk("Running 1s test\n"); err == nil {
		t.Error("incomplete output parsed")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"26.00us": 26 * time.Microsecond, "1.50ms": 1500 * time.Microsecond,
		"2.00s": 2 * time.Second, "1.00m": time.Minute,
	} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWrkDuration("3.0h"); err == nil {
		t.Error("unknown unit accepted")
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkGetFreshPrimary-2   	10127178	        99.27 ns/op	       0 B/op	       0 allocs/op
BenchmarkGetFreshPrimary-2   	10127178	       101.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGetFreshPrimary-2   	10127178	        97.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkParseDocument-2     	   37549	     33463 ns/op	  19.57 MB/s	    9928 B/op	     131 allocs/op
PASS
`
	got := ParseGoBench(out)
	if r := got["BenchmarkGetFreshPrimary"]; r.Runs != 3 || r.NsPerOp != 99.27 || r.Aps != 0 {
		t.Errorf("GetFreshPrimary = %+v", r)
	}
	if r := got["BenchmarkParseDocument"]; r.Runs != 1 || r.NsPerOp != 33463 || r.BytesPerOp != 9928 || r.Aps != 131 {
		t.Errorf("ParseDocument = %+v", r)
	}
}

func TestParseFigures(t *testing.T) {
	out := "=== RUN   TestX\n    cache_bench_test.go:197: figure upstream_calls_hour=61 requests_hour=57604\n--- PASS\n"
	f := ParseFigures(out)
	if f["upstream_calls_hour"] != 61 || f["requests_hour"] != 57604 || len(f) != 2 {
		t.Errorf("ParseFigures = %v", f)
	}
}

func TestParseInitTrace(t *testing.T) {
	out := `init runtime @3.4 ms, 0.50 ms clock, 0 bytes, 0 allocs
init github.com/aws/aws-sdk-go-v2/service/sts/internal/endpoints @19 ms, 0.87 ms clock, 82480 bytes, 685 allocs
starfleet-secrets dev (commit unknown)
`
	pkgs, end := ParseInitTrace(out)
	if len(pkgs) != 2 || pkgs[1].Clock != 870*time.Microsecond || pkgs[1].Bytes != 82480 || pkgs[1].Allocs != 685 {
		t.Errorf("ParseInitTrace = %+v", pkgs)
	}
	if end != 19870*time.Microsecond {
		t.Errorf("end = %v", end)
	}
	if Origin(pkgs[1].Name) != "AWS SDK (aws-sdk-go-v2, smithy-go)" || Origin("encoding/json") != "standard library" || Origin("runtime") != "runtime" {
		t.Error("origin grouping")
	}
}

func TestMedian(t *testing.T) {
	if m := MedianF([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := MedianF([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if m := MedianF(nil); m != 0 {
		t.Errorf("median empty = %v", m)
	}
}
