package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets use decimal units: 1 MB = 10^6 bytes.
const mb = 1e6

type Target struct {
	Name, Figure string
	Met, Have    bool
	Reported     bool // a figure asked for without a bound
}

func (t Target) Verdict() string {
	switch {
	case !t.Have:
		return "no figure"
	case t.Reported:
		return "reported"
	case t.Met:
		return "met"
	}
	return "**not met**"
}

func medianDur(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(MedianF(xs))
}

// medians is subject's and baseline's median of of, and their ratio.
func medians(subject, baseline ColdStats, of func(ColdSample) time.Duration) (s, b time.Duration, x float64) {
	s, b = medianDur(subject.pick(of)), medianDur(baseline.pick(of))
	return s, b, ratio(float64(s), float64(b))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// pairRatios is the median over the baseline,subject pairs of f(S)/f(B):
// pairs run back to back, so their ratio cancels most of the drift.
func pairRatios(lv WarmLevel, f func(WrkResult) float64) float64 {
	var rs []float64
	for i := range min(len(lv.Baseline), len(lv.Subject)) {
		rs = append(rs, ratio(f(lv.Subject[i]), f(lv.Baseline[i])))
	}
	return MedianF(rs)
}

func rpsOf(w WrkResult) float64 { return w.RPS }

func p50Of(w WrkResult) float64 { return float64(w.P50) }

func p99Of(w WrkResult) float64 { return float64(w.P99) }

func cpuOf(w WrkResult) float64 { return float64(w.cpuPerRequest()) }

func medianOf(ws []WrkResult, f func(WrkResult) float64) float64 {
	var xs []float64
	for _, w := range ws {
		xs = append(xs, f(w))
	}
	return MedianF(xs)
}

func (r *Report) level(conns int) (WarmLevel, bool) {
	for _, lv := range r.Warm {
		if lv.Conns == conns && len(lv.Subject) > 0 && len(lv.Baseline) > 0 {
			return lv, true
		}
	}
	return WarmLevel{}, false
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// us formats a latency in µs, or in ms from 1 ms up.
func us(d float64) string {
	if d >= float64(time.Millisecond) {
		return fmt.Sprintf("%.2f ms", d/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f µs", d/float64(time.Microsecond))
}

func mbs(n int64) string {
	return fmt.Sprintf("%.2f MB (%.2f MiB)", float64(n)/mb, float64(n)/(1<<20))
}

func (r *Report) Targets() []Target {
	var ts []Target
	ts = append(ts, r.startTargets()...)
	if r.Config.Parts["tls"] {
		ts = append(ts, r.firstFetchTargets()...)
	}
	ts = append(ts, r.warmTargets()...)
	ts = append(ts, r.footprintTargets()...)
	return append(ts, r.economyTargets()...)
}

// startTargets are the cold start's.
func (r *Report) startTargets() []Target {
	// compare is subject's median of of against baseline's, and their
	// ratio; the target has no figure while either has no sample.
	compare := func(name string, subject, baseline ColdStats, of func(ColdSample) time.Duration) (Target, float64) {
		t := Target{Name: name}
		if len(subject.Samples) == 0 || len(baseline.Samples) == 0 {
			return t, 0
		}
		s, b, x := medians(subject, baseline, of)
		t.Have, t.Figure = true, fmt.Sprintf("%s vs %s: %.2f×", ms(s), ms(b), x)
		return t, x
	}
	startTarget := func(name string, limit float64, subject, baseline ColdStats) Target {
		t, x := compare(name, subject, baseline, registeredOf)
		t.Met = t.Have && x <= limit
		return t
	}
	// CPU time is reported against the minimal extension, without a bound.
	cpuFigure := func(name string, of func(ColdSample) time.Duration) Target {
		t, _ := compare(name, r.ColdSubject, r.ColdBaseline, of)
		t.Reported = true
		return t
	}
	ts := []Target{
		startTarget("process start to registered (layer build, Parameter Store linked): median ≤ 1.3× minimal extension", 1.3, r.ColdSubject, r.ColdBaseline),
		cpuFigure("CPU time (user+system) from start to registered, against the minimal extension", cpuRegisteredOf),
		cpuFigure("CPU time from start to the secret cached (first slice served), against the minimal extension's to its first answer", cpuServedOf),
	}
	capped := startTarget(fmt.Sprintf("the same at %.1f CPU (cgroup), as a 128 MB function: ≤ 1.5×", ThrottleFraction), 1.5, r.ThrottledSubject, r.ThrottledBaseline)
	if !capped.Have && r.ThrottleNote != "" {
		capped.Figure = "not measured: " + r.ThrottleNote
	}
	ts = append(ts, capped)
	if len(r.ColdPeer.Samples) > 0 {
		peer, x := compare("registers before the peer extension (-peer): median start to registered, alternating", r.ColdPeerSubject, r.ColdPeer, registeredOf)
		peer.Met = peer.Have && x < 1
		ts = append(ts, peer)
	}
	return ts
}

// warmTargets are the warm reads'.
func (r *Report) warmTargets() []Target {
	var ts []Target
	for _, conns := range []int{32, 64} {
		lv, ok := r.level(conns)
		t := Target{Name: fmt.Sprintf("warm reads, %d connections: throughput ≥ 0.9× bare", conns)}
		if ok {
			x := pairRatios(lv, rpsOf)
			t.Have, t.Met = true, x >= 0.9
			t.Figure = fmt.Sprintf("%.0f vs %.0f req/s: %.2f×", medianOf(lv.Subject, rpsOf), medianOf(lv.Baseline, rpsOf), x)
		}
		ts = append(ts, t)
		t = Target{Name: fmt.Sprintf("warm reads, %d connections: p99 ≤ 1.2× bare", conns)}
		if ok {
			x := pairRatios(lv, p99Of)
			t.Have, t.Met = true, x <= 1.2
			t.Figure = fmt.Sprintf("%s vs %s: %.2f×", us(medianOf(lv.Subject, p99Of)), us(medianOf(lv.Baseline, p99Of)), x)
		}
		ts = append(ts, t)
	}
	lv1, ok1 := r.level(1)
	{
		t := Target{Name: "in-process warm slice read: ≤ 3× the bare handler's time, ≤ 3 allocations"}
		h, okH := r.GoBench["BenchmarkHandlerSlice"]
		b, okB := r.GoBench["BenchmarkHandlerSliceBare"]
		if okH && okB && b.NsPerOp > 0 {
			x := h.NsPerOp / b.NsPerOp
			t.Have, t.Met = true, x <= 3 && h.Aps <= 3
			t.Figure = fmt.Sprintf("%.0f vs %.0f ns/op: %.2f×; %.0f allocs/op (bare %.0f)", h.NsPerOp, b.NsPerOp, x, h.Aps, b.Aps)
		}
		ts = append(ts, t)
	}
	{
		t := Target{Name: "warm reads, 1 connection: p50 ≤ 1.2× bare"}
		if ok1 {
			x := pairRatios(lv1, p50Of)
			t.Have, t.Met = true, x <= 1.2
			t.Figure = fmt.Sprintf("%s vs %s: %.2f×", us(medianOf(lv1.Subject, p50Of)), us(medianOf(lv1.Baseline, p50Of)), x)
		}
		ts = append(ts, t)
	}
	return ts
}

// footprintTargets are the binary's, the zip's and the memory's.
func (r *Report) footprintTargets() []Target {
	var ts []Target
	if len(r.Footprint) > 0 {
		tb := Target{Name: "stripped binary ≤ 9 MB", Have: true, Met: true}
		tz := Target{Name: "layer zip ≤ 3.5 MB", Have: true, Met: true}
		var fb, fz []string
		for _, fp := range r.Footprint {
			tb.Met = tb.Met && float64(fp.BinSize) <= 9*mb
			tz.Met = tz.Met && float64(fp.ZipSize) <= 3.5*mb
			fb = append(fb, fp.Arch+" "+mbs(fp.BinSize))
			fz = append(fz, fp.Arch+" "+mbs(fp.ZipSize))
		}
		tb.Figure, tz.Figure = strings.Join(fb, "; "), strings.Join(fz, "; ")
		ts = append(ts, tb, tz)
	} else {
		ts = append(ts, Target{Name: "stripped binary ≤ 9 MB"}, Target{Name: "layer zip ≤ 3.5 MB"})
	}
	{
		t := Target{Name: "RSS idle ≤ 11 MB"}
		if r.RSSIdle > 0 {
			t.Have, t.Met, t.Figure = true, float64(r.RSSIdle) <= 11*mb, "VmRSS "+mbs(r.RSSIdle)
		}
		ts = append(ts, t)
		t = Target{Name: "RSS under the 32-connection load ≤ 30 MB"}
		if r.RSSHWM > 0 {
			peak := max(r.RSSHWM, r.RSSLoadPeak)
			t.Have, t.Met = true, float64(peak) <= 30*mb
			t.Figure = fmt.Sprintf("VmHWM %s (highest VmRSS sampled under load %s)", mbs(r.RSSHWM), mbs(r.RSSLoadPeak))
		}
		ts = append(ts, t)
	}
	return ts
}

// economyTargets are the upstream calls' and the hit path's.
func (r *Report) economyTargets() []Target {
	var ts []Target
	{
		t := Target{Name: "500 concurrent requests at expiry: exactly 1 upstream call"}
		if len(r.ExpiryRounds) > 0 && r.InProcessExpiryCalls != nil {
			var calls []string
			t.Met = *r.InProcessExpiryCalls == 1
			for _, x := range r.ExpiryRounds {
				calls = append(calls, fmt.Sprint(x.UpstreamCalls))
				t.Met = t.Met && x.UpstreamCalls == 1
			}
			t.Have = true
			t.Figure = fmt.Sprintf("binary + moto: %s call(s) per round; cache, fake clock: %.0f", strings.Join(calls, ", "), *r.InProcessExpiryCalls)
		}
		ts = append(ts, t)
	}
	{
		t := Target{Name: "simulated hour at TTL 60 s: ≤ 61 upstream calls"}
		if r.HourCalls != nil {
			t.Have, t.Met = true, *r.HourCalls <= 61
			t.Figure = fmt.Sprintf("%.0f calls for %.0f requests", *r.HourCalls, r.HourRequests)
		}
		ts = append(ts, t)
	}
	{
		t := Target{Name: "cache lookup on the hit path allocates nothing"}
		if b, ok := r.GoBench["BenchmarkGetFreshPrimary"]; ok && r.GetAllocsPerRun != nil {
			t.Have, t.Met = true, b.Aps == 0 && *r.GetAllocsPerRun == 0
			t.Figure = fmt.Sprintf("%.0f allocs/op, %.0f B/op (benchmark); %.0f (testing.AllocsPerRun)", b.Aps, b.BytesPerOp, *r.GetAllocsPerRun)
		}
		ts = append(ts, t)
	}
	return ts
}

// MissingFigures names every figure a part that ran should have produced.
func (r *Report) MissingFigures() []string {
	var miss []string
	need := func(part string, ok bool, what string) {
		if r.Config.Parts[part] && !ok {
			miss = append(miss, part+": "+what)
		}
	}
	for _, b := range GoBenchmarks {
		res, ok := r.GoBench[b.Name]
		need("go", ok && res.Runs > 0 && res.NsPerOp > 0, b.Name)
	}
	need("go", r.GetAllocsPerRun != nil, "AllocsPerRun of the hit path")
	need("economy", r.HourCalls != nil && r.HourRequests > 0, "simulated hour")
	need("economy", r.InProcessExpiryCalls != nil, "500 at expiry (cache)")
	need("economy", r.MIShared != nil && r.MIInProcess > 0, "Managed Instances simulated hour")
	need("economy", len(r.ExpiryRounds) == r.Config.ExpiryRounds, "500 at expiry (binary)")
	for _, x := range r.ExpiryRounds {
		need("economy", x.Statuses[200] > 0, "a 200 in a burst at expiry")
	}
	need("coldstart", len(r.ColdSubject.Samples) == r.Config.ColdRuns && len(r.ColdBaseline.Samples) == r.Config.ColdRuns, "cold start samples")
	for _, s := range append(slices.Clone(r.ColdSubject.Samples), r.ColdBaseline.Samples...) {
		need("coldstart", s.Listening > 0 && s.Registered > 0 && s.Served > 0, "a complete cold-start sample")
	}
	need("coldstart", r.ThrottleNote != "" || len(r.ThrottledSubject.Samples) == r.Config.ColdThrottledRuns && len(r.ThrottledBaseline.Samples) == r.Config.ColdThrottledRuns, "cold starts at a tenth of a CPU")
	need("coldstart", r.InitSubject != nil && r.InitSubject.Total > 0, "inittrace of the extension")
	need("coldstart", r.InitBaseline != nil && r.InitBaseline.Total > 0, "inittrace of minext")
	need("tls", len(r.TLSSubject.Samples) == r.Config.ColdRuns && len(r.TLSBaseline.Samples) == r.Config.ColdRuns, "cold starts over TLS")
	need("tls", r.TLSThrottleNote != "" || len(r.TLSThrottledSubject.Samples) == r.Config.ColdThrottledRuns, "cold starts over TLS at a tenth of a CPU")
	for _, c := range []int{1, 32, 64} {
		lv, ok := r.level(c)
		need("warm", ok && len(lv.Subject) == r.Config.WrkPairs && len(lv.Baseline) == r.Config.WrkPairs, fmt.Sprintf("wrk runs at %d connections", c))
		for _, w := range append(slices.Clone(lv.Subject), lv.Baseline...) {
			need("warm", w.RPS > 0 && w.P50 > 0 && w.P99 > 0, fmt.Sprintf("a complete wrk result at %d connections", c))
		}
	}
	need("warm", r.RSSIdle > 0 && r.RSSHWM > 0 && r.RSSLoadPeak > 0, "RSS")
	need("sdk", r.SDKThrough.Reads > 0 && r.SDKThrough.P99 > 0 && r.SDKStraight.Reads > 0 && r.SDKStraight.P99 > 0, "SDK reads through the extension and straight to moto")
	archs := 2
	if r.Config.BinARM64 == "" {
		archs = 1
	}
	need("footprint", len(r.Footprint) == archs, "binary and zip sizes of every architecture")
	for _, fp := range r.Footprint {
		need("footprint", fp.BinSize > 0 && fp.ZipSize > 0, fp.Arch+" sizes")
	}
	return miss
}

// firstFetchTargets: the first slice served, and the CPU spent until
// then, within 1.2× the limit at full CPU and at a tenth of one.
func (r *Report) firstFetchTargets() []Target {
	var ts []Target
	for _, run := range []struct {
		where             string
		subject, baseline ColdStats
	}{{"full CPU", r.TLSSubject, r.TLSBaseline}, {fmt.Sprintf("%.1f CPU", ThrottleFraction), r.TLSThrottledSubject, r.TLSThrottledBaseline}} {
		for _, m := range []struct {
			what string
			of   func(ColdSample) time.Duration
		}{{"process start to first slice served", servedOf}, {"CPU time to first slice served", cpuServedOf}} {
			t := Target{Name: fmt.Sprintf("first fetch over TLS, %s, %s: median ≤ 1.2× one TLS GET by a minimal Go extension", run.where, m.what)}
			if len(run.subject.Samples) > 0 && len(run.baseline.Samples) > 0 {
				s, b, x := medians(run.subject, run.baseline, m.of)
				t.Have, t.Met, t.Figure = true, x <= 1.2, fmt.Sprintf("%s vs %s: %.2f×", ms(s), ms(b), x)
			} else if run.baseline.Samples == nil && r.TLSThrottleNote != "" && run.where != "full CPU" {
				t.Figure = "not measured: " + r.TLSThrottleNote
			}
			ts = append(ts, t)
		}
	}
	return ts
}
