package report

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// sdkReads is one series of GetSecretValue calls by the AWS SDK for Go v2.
type SDKReads struct {
	P50, P99      time.Duration
	Reads         int
	UpstreamCalls int // GetSecretValue calls that reached moto
}

// ColdSample is one cold start, measured from just before the fork, and
// the CPU time (user and system, every thread) the process had used when
// it was seen registered and when it first served the slice.
type ColdSample struct {
	Listening, Registered, Served time.Duration
	CPURegistered, CPUServed      time.Duration
}

// ColdStats summarises the samples of one binary.
type ColdStats struct {
	Samples []ColdSample
}

func (s ColdStats) pick(f func(ColdSample) time.Duration) []time.Duration {
	var ds []time.Duration
	for _, x := range s.Samples {
		ds = append(ds, f(x))
	}
	return ds
}

func listeningOf(s ColdSample) time.Duration { return s.Listening }

func registeredOf(s ColdSample) time.Duration { return s.Registered }

func servedOf(s ColdSample) time.Duration { return s.Served }

func cpuRegisteredOf(s ColdSample) time.Duration { return s.CPURegistered }

func cpuServedOf(s ColdSample) time.Duration { return s.CPUServed }

// InitTrace is what GODEBUG=inittrace=1 says about package initialisation.
type InitTrace struct {
	Runs     int
	Total    time.Duration // median over runs of the summed init clock
	End      time.Duration // median over runs of when the last init ended, from runtime start
	Packages int
	ByPkg    []PkgInit // median clock per package, largest first
	Groups   []PkgInit // the same summed by origin
}

type PkgInit struct {
	Name   string
	Clock  time.Duration
	Bytes  int64
	Allocs int64
}

// WrkResult is one wrk run.
type WrkResult struct {
	RPS        float64
	P50, P99   time.Duration
	Requests   int64
	Non2xx     int64
	SockErrors string // wrk's "Socket errors" line, if any
	CPU        time.Duration
}

// cpuPerRequest is the server's CPU time per answered request.
func (w WrkResult) cpuPerRequest() time.Duration {
	if w.Requests == 0 {
		return 0
	}
	return w.CPU / time.Duration(w.Requests)
}

// WarmLevel is every run at one connection count.
type WarmLevel struct {
	Conns, Threads    int
	Baseline, Subject []WrkResult
}

// BenchResult is the median of one benchmark's runs.
type BenchResult struct {
	Runs                     int
	NsPerOp, BytesPerOp, Aps float64 // aps: allocs/op
}

// MedianF is the median of xs (NaN-free); 0 for none.
func MedianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.1f ns", ns)
}

// ExpiryRound is one burst of concurrent reads at expiry against the binary.
type ExpiryRound struct {
	UpstreamCalls int
	Statuses      map[int]int
	Errors        int
	AnsweredEarly int // answers before the held upstream call was released
	Sockets       int // server-side connections seen open when released
	Elapsed       time.Duration
}

// ArchFootprint is the size of one architecture's binary and layer zip.
type ArchFootprint struct {
	Arch      string // the layer's name for it: x86_64, arm64
	Binary    string
	BinSize   int64
	Zip       string
	ZipSize   int64
	ZipMethod string
}
