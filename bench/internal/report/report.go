// Package report holds what one benchmark run found: the figures each part
// measures, the targets each figure is judged by against its same-run
// baseline, and bench/REPORT.md rendered from them. The parts that measure
// live in bench/cmd/benchrun; keeping the figures here means the report can
// be read, and its verdicts tested, without starting a process.
package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
)

// What every run does, which the report states beside the figures.
const (
	// ThrottleFraction is the CPU a 128 MB Lambda function gets, roughly:
	// Lambda allots CPU in proportion to memory, a full vCPU at 1,769 MB.
	ThrottleFraction = 0.1
	// ExpiryReaders read at once when the secret expires, ExpiryTTL apart.
	ExpiryReaders = 500
	ExpiryTTL     = time.Second
)

// Token is the token every request presents: 1024 bytes, the size of a
// Lambda AWS_SESSION_TOKEN, since the server hashes it on every request.
var Token = strings.Repeat("IQoJb3JpZ2luX2VjE", 64)[:1024]

// GoBenchmarks are the Go benchmarks of the hit path, in report order, with
// the baseline each one is compared with ("" for none).
var GoBenchmarks = []struct{ Name, Pkg, Baseline, What string }{
	{"BenchmarkGetFreshPrimary", "./cache", "", "cache.Get, Starfleet secret fresh (the hit path's lookup)"},
	{"BenchmarkGetFreshPrimaryParallel", "./cache", "", "the same Get from every core at once (a shared write on the hit path would show here)"},
	{"BenchmarkHandlerSlice", "./server", "BenchmarkHandlerSliceBare", "handler, GET /secret/{slice}: a request as the server makes it (connection context, one copy per request), discarding writer"},
	{"BenchmarkHandlerSliceBare", "./server", "", "baseline: bare handler writing the same headers and body"},
	{"BenchmarkHandlerSliceRecorder", "./server", "", "handler via httptest.NewRecorder (recorder allocations included)"},
	{"BenchmarkParseDocument", "./cache", "BenchmarkParseDocumentBaseline", "cache.ParseDocument of testdata/starfleet-secret.json"},
	{"BenchmarkParseDocumentBaseline", "./cache", "", "baseline: json.Unmarshal into map[string]json.RawMessage"},
	{"BenchmarkGetRefresh", "./cache", "", "fetch path without network (TTL 0, instant source): parse + ETags"},
}

// Report collects every figure of one run and renders bench/REPORT.md.
type Report struct {
	Config   Config
	Started  time.Time
	Elapsed  time.Duration
	Machine  Machine
	Commands []string
	TestBins map[string]string // package -> test binary built this run

	GoBench         map[string]BenchResult
	GoBenchRaw      string
	Benchstat       string
	GetAllocsPerRun *float64

	HourCalls    *float64
	HourRequests float64
	// Managed Instances: a simulated hour, 8 workers, one extension
	// against one in-process cache per worker.
	MIShared             *float64
	MIInProcess, MIReads float64
	InProcessExpiryCalls *float64
	ExpiryRounds         []ExpiryRound

	ColdSubject, ColdBaseline ColdStats
	// A peer extension and ours, alternating, to registered only.
	ColdPeer, ColdPeerSubject ColdStats
	// The same at a tenth of a CPU, or why that could not be measured.
	ThrottledSubject, ThrottledBaseline ColdStats
	ThrottleNote                        string
	InitSubject, InitBaseline           *InitTrace
	// The cold start whose first fetch goes over TLS, against one TLS GET.
	TLSSubject, TLSBaseline                   ColdStats
	TLSThrottledSubject, TLSThrottledBaseline ColdStats
	TLSThrottleNote                           string
	TLSRoots                                  int

	Warm                         []WarmLevel
	WarmBodyBytes                int
	RSSIdle, RSSLoadPeak, RSSHWM int64

	Footprint []ArchFootprint

	SDKThrough, SDKStraight SDKReads
}

func (r *Report) Command(s string) {
	if wd, err := os.Getwd(); err == nil {
		s = strings.ReplaceAll(s, wd+string(os.PathSeparator), "")
	}
	if !slices.Contains(r.Commands, s) {
		r.Commands = append(r.Commands, s)
	}
}

type Machine struct {
	NProc                                        int
	CPU, Mem, Kernel, GoVersion, Wrk, Commit, Os string
}

func MachineInfo(ctx context.Context, goCmd string) Machine {
	m := Machine{NProc: runtime.NumCPU(), Os: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, err := proc.StatusField(string(b), "MemTotal"); err == nil {
			m.Mem = fmt.Sprintf("%.1f GiB", float64(v)/(1<<30))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	run := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return "unknown"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	m.GoVersion = run(goCmd, "version")
	m.Wrk = run("wrk", "-v")
	m.Commit = run("git", "describe", "--always", "--dirty")
	return m
}

// Config is what the flags decide.
type Config struct {
	Smoke    bool
	Parts    map[string]bool
	Out      string // the report
	RawDir   string // raw outputs: wrk, go test, inittrace
	GoCmd    string
	Bin      string // the extension, built like `make build`
	BinARM64 string // the same for linux/arm64
	Bare     string // bench/cmd/bare
	MinExt   string // bench/cmd/minext
	Peer     string // another extension to time to registered; "" skips it
	DistDir  string // where `make layer` puts the layer zips
	Secret   string // the Starfleet secret the benchmarks serve
	Slice    string

	WrkDuration time.Duration
	WrkPairs    int
	ColdRuns    int
	// ColdThrottledRuns are the cold starts per binary at a tenth of a CPU.
	ColdThrottledRuns int
	InitRuns          int
	ExpiryRounds      int
	SDKReads          int
	BenchCount        int
	BenchTime         string
	Benchstat         string // `go run` package of benchstat; "" skips it
	TestRace          bool   // build the test binaries with -race (smoke: reuse make test's build cache)
	TotalDeadline     time.Duration
	PollPause         time.Duration // between connect attempts when timing start to listening
	BareTimeouts      bool          // the warm baseline gets the extension's http.Server timeouts
}

var AllParts = []string{"go", "economy", "coldstart", "tls", "warm", "footprint", "sdk"}
