package main

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
	res, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if res.rps != 27164.32 || res.p50 != 751*time.Microsecond || res.p99 != 9310*time.Microsecond || res.requests != 27164 {
		t.Errorf("parseWrk = %+v", res)
	}
	if res.non2xx != 0 || res.sockErrors != "" {
		t.Errorf("errors reported in a clean run: %+v", res)
	}

	bad := wrkSample + "  Non-2xx or 3xx responses: 12\n  Socket errors: connect 0, read 3, write 0, timeout 0\n"
	res, err = parseWrk(bad)
	if err != nil || res.non2xx != 12 || res.sockErrors != "connect 0, read 3, write 0, timeout 0" {
		t.Errorf("parseWrk with errors = %+v, %v", res, err)
	}
	if _, err := parseWrk("Running 1s test\n"); err == nil {
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
	got := parseGoBench(out)
	if r := got["BenchmarkGetFreshPrimary"]; r.runs != 3 || r.nsPerOp != 99.27 || r.aps != 0 {
		t.Errorf("GetFreshPrimary = %+v", r)
	}
	if r := got["BenchmarkParseDocument"]; r.runs != 1 || r.nsPerOp != 33463 || r.bytesPerOp != 9928 || r.aps != 131 {
		t.Errorf("ParseDocument = %+v", r)
	}
}

func TestParseFigures(t *testing.T) {
	out := "=== RUN   TestX\n    cache_bench_test.go:197: figure upstream_calls_hour=61 requests_hour=57604\n--- PASS\n"
	f := parseFigures(out)
	if f["upstream_calls_hour"] != 61 || f["requests_hour"] != 57604 || len(f) != 2 {
		t.Errorf("parseFigures = %v", f)
	}
}

func TestParseInitTrace(t *testing.T) {
	out := `init runtime @3.4 ms, 0.50 ms clock, 0 bytes, 0 allocs
init github.com/aws/aws-sdk-go-v2/service/sts/internal/endpoints @19 ms, 0.87 ms clock, 82480 bytes, 685 allocs
starfleet-secrets dev (commit unknown)
`
	pkgs, end := parseInitTrace(out)
	if len(pkgs) != 2 || pkgs[1].clock != 870*time.Microsecond || pkgs[1].bytes != 82480 || pkgs[1].allocs != 685 {
		t.Errorf("parseInitTrace = %+v", pkgs)
	}
	if end != 19870*time.Microsecond {
		t.Errorf("end = %v", end)
	}
	if origin(pkgs[1].name) != "AWS SDK (aws-sdk-go-v2, smithy-go)" || origin("encoding/json") != "standard library" || origin("runtime") != "runtime" {
		t.Error("origin grouping")
	}
}

func TestParseProcFiles(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:C351 01 00000000:0000004A 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`
	est, unread, err := parseProcNetTCP(tcp, 8080)
	if err != nil || est != 2 || unread != 1 {
		t.Errorf("parseProcNetTCP = %d, %d, %v; want 2, 1", est, unread, err)
	}

	status := "Name:\tstarfleet\nVmHWM:\t   18000 kB\nVmRSS:\t   11720 kB\n"
	if v, err := parseStatusField(status, "VmRSS"); err != nil || v != 11720*1024 {
		t.Errorf("VmRSS = %d, %v", v, err)
	}
	if _, err := parseStatusField(status, "VmSwap"); err == nil {
		t.Error("missing field found")
	}

	stat := "4242 (starfleet secrets) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0"
	if d, err := parseStatCPU(stat); err != nil || d != 325*clockTick {
		t.Errorf("parseStatCPU = %v, %v", d, err)
	}
}

func TestMedian(t *testing.T) {
	if m := medianF([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := medianF([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if m := medianF(nil); m != 0 {
		t.Errorf("median empty = %v", m)
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("go", "test", "-run", "^(A|B)$", "./cache"); got != "go test -run '^(A|B)$' ./cache" {
		t.Errorf("shellQuote = %s", got)
	}
}
