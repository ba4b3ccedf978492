package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report collects every figure of one run and renders bench/REPORT.md.
type report struct {
	cfg      config
	started  time.Time
	elapsed  time.Duration
	machine  machine
	commands []string
	testBins map[string]string // package -> test binary built this run

	goBench         map[string]benchResult
	goBenchRaw      string
	benchstat       string
	getAllocsPerRun *float64

	hourCalls    *float64
	hourRequests float64
	// Managed Instances: a simulated hour, 8 workers, one extension
	// against one in-process cache per worker.
	miShared             *float64
	miInProcess, miReads float64
	inProcessExpiryCalls *float64
	expiryRounds         []expiryRound

	coldSubject, coldBaseline coldStats
	// A peer extension and ours, alternating, to registered only.
	coldPeer, coldPeerSubject coldStats
	// The same at a tenth of a CPU, or why that could not be measured.
	throttledSubject, throttledBaseline coldStats
	throttleNote                        string
	initSubject, initBaseline           *initTrace
	// The cold start whose first fetch goes over TLS, against one TLS GET.
	tlsSubject, tlsBaseline                   coldStats
	tlsThrottledSubject, tlsThrottledBaseline coldStats
	tlsThrottleNote                           string
	tlsRoots                                  int

	warm                         []warmLevel
	warmBodyBytes                int
	rssIdle, rssLoadPeak, rssHWM int64

	footprint []archFootprint

	sdkThrough, sdkStraight sdkReads
}

func (r *report) command(s string) {
	if wd, err := os.Getwd(); err == nil {
		s = strings.ReplaceAll(s, wd+string(os.PathSeparator), "")
	}
	if !slices.Contains(r.commands, s) {
		r.commands = append(r.commands, s)
	}
}

type machine struct {
	nproc                                        int
	cpu, mem, kernel, goVersion, wrk, commit, os string
}

func machineInfo(ctx context.Context, goCmd string) machine {
	m := machine{nproc: runtime.NumCPU(), os: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, err := parseStatusField(string(b), "MemTotal"); err == nil {
			m.mem = fmt.Sprintf("%.1f GiB", float64(v)/(1<<30))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	run := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return "unknown"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	m.goVersion = run(goCmd, "version")
	m.wrk = run("wrk", "-v")
	m.commit = run("git", "describe", "--always", "--dirty")
	return m
}

// Targets use decimal units: 1 MB = 10^6 bytes.
const mb = 1e6

type target struct {
	name, figure string
	met, have    bool
	reported     bool // a figure asked for without a bound
}

func (t target) verdict() string {
	switch {
	case !t.have:
		return "no figure"
	case t.reported:
		return "reported"
	case t.met:
		return "met"
	}
	return "**not met**"
}

func medianDur(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(medianF(xs))
}

// medians is subject's and baseline's median of of, and their ratio.
func medians(subject, baseline coldStats, of func(coldSample) time.Duration) (s, b time.Duration, x float64) {
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
func pairRatios(lv warmLevel, f func(wrkResult) float64) float64 {
	var rs []float64
	for i := range min(len(lv.baseline), len(lv.subject)) {
		rs = append(rs, ratio(f(lv.subject[i]), f(lv.baseline[i])))
	}
	return medianF(rs)
}

func rpsOf(w wrkResult) float64 { return w.rps }
func p50Of(w wrkResult) float64 { return float64(w.p50) }
func p99Of(w wrkResult) float64 { return float64(w.p99) }
func cpuOf(w wrkResult) float64 { return float64(w.cpuPerRequest()) }

func medianOf(ws []wrkResult, f func(wrkResult) float64) float64 {
	var xs []float64
	for _, w := range ws {
		xs = append(xs, f(w))
	}
	return medianF(xs)
}

func (r *report) level(conns int) (warmLevel, bool) {
	for _, lv := range r.warm {
		if lv.conns == conns && len(lv.subject) > 0 && len(lv.baseline) > 0 {
			return lv, true
		}
	}
	return warmLevel{}, false
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

func (r *report) targets() []target {
	var ts []target
	ts = append(ts, r.startTargets()...)
	if r.cfg.parts["tls"] {
		ts = append(ts, r.firstFetchTargets()...)
	}
	ts = append(ts, r.warmTargets()...)
	ts = append(ts, r.footprintTargets()...)
	return append(ts, r.economyTargets()...)
}

// startTargets are the cold start's.
func (r *report) startTargets() []target {
	// compare is subject's median of of against baseline's, and their
	// ratio; the target has no figure while either has no sample.
	compare := func(name string, subject, baseline coldStats, of func(coldSample) time.Duration) (target, float64) {
		t := target{name: name}
		if len(subject.samples) == 0 || len(baseline.samples) == 0 {
			return t, 0
		}
		s, b, x := medians(subject, baseline, of)
		t.have, t.figure = true, fmt.Sprintf("%s vs %s: %.2f×", ms(s), ms(b), x)
		return t, x
	}
	startTarget := func(name string, limit float64, subject, baseline coldStats) target {
		t, x := compare(name, subject, baseline, registeredOf)
		t.met = t.have && x <= limit
		return t
	}
	// CPU time is reported against the minimal extension, without a bound.
	cpuFigure := func(name string, of func(coldSample) time.Duration) target {
		t, _ := compare(name, r.coldSubject, r.coldBaseline, of)
		t.reported = true
		return t
	}
	ts := []target{
		startTarget("process start to registered (layer build, Parameter Store linked): median ≤ 1.3× minimal extension", 1.3, r.coldSubject, r.coldBaseline),
		cpuFigure("CPU time (user+system) from start to registered, against the minimal extension", cpuRegisteredOf),
		cpuFigure("CPU time from start to the secret cached (first slice served), against the minimal extension's to its first answer", cpuServedOf),
	}
	capped := startTarget(fmt.Sprintf("the same at %.1f CPU (cgroup), as a 128 MB function: ≤ 1.5×", throttleFraction), 1.5, r.throttledSubject, r.throttledBaseline)
	if !capped.have && r.throttleNote != "" {
		capped.figure = "not measured: " + r.throttleNote
	}
	ts = append(ts, capped)
	if len(r.coldPeer.samples) > 0 {
		peer, x := compare("registers before the peer extension (-peer): median start to registered, alternating", r.coldPeerSubject, r.coldPeer, registeredOf)
		peer.met = peer.have && x < 1
		ts = append(ts, peer)
	}
	return ts
}

// warmTargets are the warm reads'.
func (r *report) warmTargets() []target {
	var ts []target
	for _, conns := range []int{32, 64} {
		lv, ok := r.level(conns)
		t := target{name: fmt.Sprintf("warm reads, %d connections: throughput ≥ 0.9× bare", conns)}
		if ok {
			x := pairRatios(lv, rpsOf)
			t.have, t.met = true, x >= 0.9
			t.figure = fmt.Sprintf("%.0f vs %.0f req/s: %.2f×", medianOf(lv.subject, rpsOf), medianOf(lv.baseline, rpsOf), x)
		}
		ts = append(ts, t)
		t = target{name: fmt.Sprintf("warm reads, %d connections: p99 ≤ 1.2× bare", conns)}
		if ok {
			x := pairRatios(lv, p99Of)
			t.have, t.met = true, x <= 1.2
			t.figure = fmt.Sprintf("%s vs %s: %.2f×", us(medianOf(lv.subject, p99Of)), us(medianOf(lv.baseline, p99Of)), x)
		}
		ts = append(ts, t)
	}
	lv1, ok1 := r.level(1)
	{
		t := target{name: "in-process warm slice read: ≤ 3× the bare handler's time, ≤ 3 allocations"}
		h, okH := r.goBench["BenchmarkHandlerSlice"]
		b, okB := r.goBench["BenchmarkHandlerSliceBare"]
		if okH && okB && b.nsPerOp > 0 {
			x := h.nsPerOp / b.nsPerOp
			t.have, t.met = true, x <= 3 && h.aps <= 3
			t.figure = fmt.Sprintf("%.0f vs %.0f ns/op: %.2f×; %.0f allocs/op (bare %.0f)", h.nsPerOp, b.nsPerOp, x, h.aps, b.aps)
		}
		ts = append(ts, t)
	}
	{
		t := target{name: "warm reads, 1 connection: p50 ≤ 1.2× bare"}
		if ok1 {
			x := pairRatios(lv1, p50Of)
			t.have, t.met = true, x <= 1.2
			t.figure = fmt.Sprintf("%s vs %s: %.2f×", us(medianOf(lv1.subject, p50Of)), us(medianOf(lv1.baseline, p50Of)), x)
		}
		ts = append(ts, t)
	}
	return ts
}

// footprintTargets are the binary's, the zip's and the memory's.
func (r *report) footprintTargets() []target {
	var ts []target
	if len(r.footprint) > 0 {
		tb := target{name: "stripped binary ≤ 9 MB", have: true, met: true}
		tz := target{name: "layer zip ≤ 3.5 MB", have: true, met: true}
		var fb, fz []string
		for _, fp := range r.footprint {
			tb.met = tb.met && float64(fp.binSize) <= 9*mb
			tz.met = tz.met && float64(fp.zipSize) <= 3.5*mb
			fb = append(fb, fp.arch+" "+mbs(fp.binSize))
			fz = append(fz, fp.arch+" "+mbs(fp.zipSize))
		}
		tb.figure, tz.figure = strings.Join(fb, "; "), strings.Join(fz, "; ")
		ts = append(ts, tb, tz)
	} else {
		ts = append(ts, target{name: "stripped binary ≤ 9 MB"}, target{name: "layer zip ≤ 3.5 MB"})
	}
	{
		t := target{name: "RSS idle ≤ 11 MB"}
		if r.rssIdle > 0 {
			t.have, t.met, t.figure = true, float64(r.rssIdle) <= 11*mb, "VmRSS "+mbs(r.rssIdle)
		}
		ts = append(ts, t)
		t = target{name: "RSS under the 32-connection load ≤ 30 MB"}
		if r.rssHWM > 0 {
			peak := max(r.rssHWM, r.rssLoadPeak)
			t.have, t.met = true, float64(peak) <= 30*mb
			t.figure = fmt.Sprintf("VmHWM %s (highest VmRSS sampled under load %s)", mbs(r.rssHWM), mbs(r.rssLoadPeak))
		}
		ts = append(ts, t)
	}
	return ts
}

// economyTargets are the upstream calls' and the hit path's.
func (r *report) economyTargets() []target {
	var ts []target
	{
		t := target{name: "500 concurrent requests at expiry: exactly 1 upstream call"}
		if len(r.expiryRounds) > 0 && r.inProcessExpiryCalls != nil {
			var calls []string
			t.met = *r.inProcessExpiryCalls == 1
			for _, x := range r.expiryRounds {
				calls = append(calls, fmt.Sprint(x.upstreamCalls))
				t.met = t.met && x.upstreamCalls == 1
			}
			t.have = true
			t.figure = fmt.Sprintf("binary + moto: %s call(s) per round; cache, fake clock: %.0f", strings.Join(calls, ", "), *r.inProcessExpiryCalls)
		}
		ts = append(ts, t)
	}
	{
		t := target{name: "simulated hour at TTL 60 s: ≤ 61 upstream calls"}
		if r.hourCalls != nil {
			t.have, t.met = true, *r.hourCalls <= 61
			t.figure = fmt.Sprintf("%.0f calls for %.0f requests", *r.hourCalls, r.hourRequests)
		}
		ts = append(ts, t)
	}
	{
		t := target{name: "cache lookup on the hit path allocates nothing"}
		if b, ok := r.goBench["BenchmarkGetFreshPrimary"]; ok && r.getAllocsPerRun != nil {
			t.have, t.met = true, b.aps == 0 && *r.getAllocsPerRun == 0
			t.figure = fmt.Sprintf("%.0f allocs/op, %.0f B/op (benchmark); %.0f (testing.AllocsPerRun)", b.aps, b.bytesPerOp, *r.getAllocsPerRun)
		}
		ts = append(ts, t)
	}
	return ts
}

// missingFigures names every figure a part that ran should have produced.
func (r *report) missingFigures() []string {
	var miss []string
	need := func(part string, ok bool, what string) {
		if r.cfg.parts[part] && !ok {
			miss = append(miss, part+": "+what)
		}
	}
	for _, b := range goBenchmarks {
		res, ok := r.goBench[b.name]
		need("go", ok && res.runs > 0 && res.nsPerOp > 0, b.name)
	}
	need("go", r.getAllocsPerRun != nil, "AllocsPerRun of the hit path")
	need("economy", r.hourCalls != nil && r.hourRequests > 0, "simulated hour")
	need("economy", r.inProcessExpiryCalls != nil, "500 at expiry (cache)")
	need("economy", r.miShared != nil && r.miInProcess > 0, "Managed Instances simulated hour")
	need("economy", len(r.expiryRounds) == r.cfg.expiryRounds, "500 at expiry (binary)")
	for _, x := range r.expiryRounds {
		need("economy", x.statuses[200] > 0, "a 200 in a burst at expiry")
	}
	need("coldstart", len(r.coldSubject.samples) == r.cfg.coldRuns && len(r.coldBaseline.samples) == r.cfg.coldRuns, "cold start samples")
	for _, s := range append(slices.Clone(r.coldSubject.samples), r.coldBaseline.samples...) {
		need("coldstart", s.listening > 0 && s.registered > 0 && s.served > 0, "a complete cold-start sample")
	}
	need("coldstart", r.throttleNote != "" || len(r.throttledSubject.samples) == r.cfg.coldThrottledRuns && len(r.throttledBaseline.samples) == r.cfg.coldThrottledRuns, "cold starts at a tenth of a CPU")
	need("coldstart", r.initSubject != nil && r.initSubject.total > 0, "inittrace of the extension")
	need("coldstart", r.initBaseline != nil && r.initBaseline.total > 0, "inittrace of minext")
	need("tls", len(r.tlsSubject.samples) == r.cfg.coldRuns && len(r.tlsBaseline.samples) == r.cfg.coldRuns, "cold starts over TLS")
	need("tls", r.tlsThrottleNote != "" || len(r.tlsThrottledSubject.samples) == r.cfg.coldThrottledRuns, "cold starts over TLS at a tenth of a CPU")
	for _, c := range []int{1, 32, 64} {
		lv, ok := r.level(c)
		need("warm", ok && len(lv.subject) == r.cfg.wrkPairs && len(lv.baseline) == r.cfg.wrkPairs, fmt.Sprintf("wrk runs at %d connections", c))
		for _, w := range append(slices.Clone(lv.subject), lv.baseline...) {
			need("warm", w.rps > 0 && w.p50 > 0 && w.p99 > 0, fmt.Sprintf("a complete wrk result at %d connections", c))
		}
	}
	need("warm", r.rssIdle > 0 && r.rssHWM > 0 && r.rssLoadPeak > 0, "RSS")
	need("sdk", r.sdkThrough.reads > 0 && r.sdkThrough.p99 > 0 && r.sdkStraight.reads > 0 && r.sdkStraight.p99 > 0, "SDK reads through the extension and straight to moto")
	archs := 2
	if r.cfg.binARM64 == "" {
		archs = 1
	}
	need("footprint", len(r.footprint) == archs, "binary and zip sizes of every architecture")
	for _, fp := range r.footprint {
		need("footprint", fp.binSize > 0 && fp.zipSize > 0, fp.arch+" sizes")
	}
	return miss
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	title := "Benchmark report"
	if r.cfg.smoke {
		title += " (smoke run: figures are indicative only)"
	}
	p("# %s", title)
	p("")
	p("Generated by `bench/cmd/benchrun` (`make bench`%s). Every target is judged against a baseline measured in the same run, because the machine is small and noisy. Units: 1 MB = 10^6 bytes.", map[bool]string{true: "-smoke", false: ""}[r.cfg.smoke])
	p("")
	p("| | |")
	p("|---|---|")
	p("| date | %s (run took %s) |", r.started.Format(time.RFC3339), r.elapsed.Round(time.Second))
	p("| commit | `%s` |", r.machine.commit)
	p("| cores (nproc) | %d |", r.machine.nproc)
	p("| CPU | %s |", r.machine.cpu)
	p("| memory | %s |", r.machine.mem)
	p("| kernel | %s (%s) |", r.machine.kernel, r.machine.os)
	p("| Go | %s |", r.machine.goVersion)
	p("| wrk | %s |", r.machine.wrk)
	p("")
	p("## Targets")
	p("")
	p("| target | figure | verdict |")
	p("|---|---|---|")
	for _, t := range r.targets() {
		fig := t.figure
		if fig == "" {
			fig = "—"
		}
		p("| %s | %s | %s |", t.name, fig, t.verdict())
	}
	p("")
	r.warmSection(p)
	r.coldSection(p)
	r.firstFetchSection(p)
	r.footprintSection(p)
	r.economySection(p)
	r.goSection(p)
	r.sdkSection(p)
	p("## Commands")
	p("")
	p("```sh")
	for _, c := range r.commands {
		p("%s", c)
	}
	p("```")
	return b.String()
}

type printer func(format string, args ...any)

func (r *report) warmSection(p printer) {
	if !r.cfg.parts["warm"] {
		return
	}
	p("## 1. Warm reads")
	p("")
	p("`GET /secret/%s` (%d-byte body) on loopback keep-alive under wrk, with a %d-byte token header. Subject: the extension (Lambda mode under extensiontest, TTL 3600 s, secret from moto). Baseline: `bench/cmd/bare`, net/http answering the same body and header set. Runs alternate baseline, subject; %d pairs of %s per level, each after a 1 s warm-up. Ratios are subject/baseline, the median over pairs. CPU/request is the server process's user+system time over the run divided by the requests it answered (10 ms tick resolution).", r.cfg.slice, r.warmBodyBytes, len(benchToken), r.cfg.wrkPairs, r.cfg.wrkDuration)
	p("")
	p("| connections (wrk threads) | | req/s | p50 | p99 | server CPU/request |")
	p("|---|---|---|---|---|---|")
	for _, lv := range r.warm {
		row := func(name string, ws []wrkResult) {
			p("| %d (%d) | %s | %.0f | %s | %s | %s |", lv.conns, lv.threads, name, medianOf(ws, rpsOf), us(medianOf(ws, p50Of)), us(medianOf(ws, p99Of)), us(medianOf(ws, cpuOf)))
		}
		row("bare baseline", lv.baseline)
		row("starfleet-secrets", lv.subject)
		p("| %d | **ratio** | **%.2f×** | **%.2f×** | **%.2f×** | %.2f× |", lv.conns, pairRatios(lv, rpsOf), pairRatios(lv, p50Of), pairRatios(lv, p99Of), pairRatios(lv, cpuOf))
	}
	p("")
	p("Every run (req/s, p50, p99):")
	p("")
	for _, lv := range r.warm {
		var parts []string
		for i := range min(len(lv.baseline), len(lv.subject)) {
			bl, s := lv.baseline[i], lv.subject[i]
			parts = append(parts, fmt.Sprintf("B %.0f/%s/%s, S %.0f/%s/%s", bl.rps, us(float64(bl.p50)), us(float64(bl.p99)), s.rps, us(float64(s.p50)), us(float64(s.p99))))
		}
		p("- %d connections: %s", lv.conns, strings.Join(parts, "; "))
	}
	p("")
}

func (r *report) coldSection(p printer) {
	if !r.cfg.parts["coldstart"] {
		return
	}
	p("## 2. Cold start")
	p("")
	p("%d runs of each binary, alternating, each under a new extensiontest server (Lambda mode, secret in moto). Times run from just before the fork: *listening* is the first successful connect of a tight, bounded connect loop on the port; *registered* is when `extensiontest.Server.WaitRegistered` returned; *first slice* is the first 200 for `GET /secret/%s`. Baseline: `bench/cmd/minext` (stdlib only: listen, register, wait; its \"first slice\" is a fixed body).", len(r.coldSubject.samples), r.cfg.slice)
	p("")
	milestoneTable(p, "milestone", r.coldSubject, r.coldBaseline)
	if len(r.throttledSubject.samples) > 0 && len(r.throttledBaseline.samples) > 0 {
		p("The same, %d runs of each, inside a cgroup capped at %.1f CPU (a 128 MB function gets about 1/14 of a vCPU; the process moves itself into the cgroup before exec; each run starts after a period's pause, on the full quota):", len(r.throttledSubject.samples), throttleFraction)
		p("")
		milestoneTable(p, fmt.Sprintf("milestone at %.1f CPU", throttleFraction), r.throttledSubject, r.throttledBaseline)
	} else if r.throttleNote != "" {
		p("Not measured at a tenth of a CPU: %s.", r.throttleNote)
		p("")
	}
	if len(r.coldPeer.samples) > 0 {
		s, pe := r.coldPeerSubject, r.coldPeer
		p("A peer, `%s`, %d runs alternating with ours (start to registered only; the peer need not serve what ours does):", r.cfg.peer, len(pe.samples))
		p("")
		p("| | starfleet-secrets median | peer median | ratio |")
		p("|---|---|---|---|")
		for _, m := range []struct {
			name string
			of   func(coldSample) time.Duration
		}{{"registered", registeredOf}, {"CPU time when seen registered", cpuRegisteredOf}} {
			ours, theirs, x := medians(s, pe, m.of)
			p("| %s | %s | %s | %.2f× |", m.name, ms(ours), ms(theirs), x)
		}
		p("")
	}
	if r.initSubject != nil && r.initBaseline != nil {
		initSection(p, r.initSubject, r.initBaseline)
	}
}

// milestoneTable compares the subject's cold start milestones with the
// baseline's.
func milestoneTable(p printer, heading string, subject, baseline coldStats) {
	p("| %s | starfleet-secrets median (min, max) | minimal extension median (min, max) | ratio of medians |", heading)
	p("|---|---|---|---|")
	for _, m := range []struct {
		name string
		f    func(coldSample) time.Duration
	}{{"listening", listeningOf}, {"registered", registeredOf}, {"first slice served", servedOf},
		{"CPU time (user+system, all threads) when seen registered", cpuRegisteredOf}, {"CPU time when the first slice was served", cpuServedOf}} {
		s, bl := subject.pick(m.f), baseline.pick(m.f)
		if len(s) == 0 || len(bl) == 0 {
			continue
		}
		p("| %s | %s (%s, %s) | %s (%s, %s) | %.2f× |", m.name, ms(medianDur(s)), ms(slices.Min(s)), ms(slices.Max(s)),
			ms(medianDur(bl)), ms(slices.Min(bl)), ms(slices.Max(bl)), ratio(float64(medianDur(s)), float64(medianDur(bl))))
	}
	p("")
}

// initSection reports package initialisation, subject against baseline.
func initSection(p printer, s, bl *initTrace) {
	p("Package initialisation (`GODEBUG=inittrace=1`, median of %d runs): starfleet-secrets runs %d package inits taking %s of clock in all, the last ending %s after the runtime started; the minimal extension runs %d taking %s, ending at %s.", s.runs, s.packages, ms(s.total), ms(s.end), bl.packages, ms(bl.total), ms(bl.end))
	p("")
	if len(s.groups) > 0 && s.total > 0 {
		g := s.groups[0]
		p("What dominates: %s, %.0f%% of the init clock (%s); the extension's inits take %s more than the minimal extension's in all.", g.name, 100*float64(g.clock)/float64(s.total), ms(g.clock), ms(s.total-bl.total))
		p("")
	}
	p("| origin | init clock | bytes | allocs |")
	p("|---|---|---|---|")
	for _, g := range s.groups {
		p("| %s | %s | %d | %d |", g.name, ms(g.clock), g.bytes, g.allocs)
	}
	p("")
	p("Largest package inits:")
	p("")
	p("| package | init clock | bytes | allocs |")
	p("|---|---|---|---|")
	for _, pk := range s.byPkg[:min(12, len(s.byPkg))] {
		p("| `%s` | %s | %d | %d |", pk.name, ms(pk.clock), pk.bytes, pk.allocs)
	}
	p("")
}

func (r *report) footprintSection(p printer) {
	if !r.cfg.parts["footprint"] && !r.cfg.parts["warm"] {
		return
	}
	p("## 3. Footprint")
	p("")
	if len(r.footprint) > 0 {
		p("Binaries built like `make layer`: `CGO_ENABLED=0 go build -trimpath -tags lambda,nethttpomithttp2 -gcflags go.yaml.in/yaml/v3=-l -ldflags '-s -w -buildid= ...'`.")
		p("")
		p("| architecture | stripped binary | layer zip | zip from |")
		p("|---|---|---|---|")
		for _, fp := range r.footprint {
			p("| %s | %s | %s | %s |", fp.arch, mbs(fp.binSize), mbs(fp.zipSize), fp.zipMethod)
		}
		p("")
	}
	if r.rssIdle > 0 {
		p("Resident memory of the extension (from `/proc/<pid>/status`): idle (registered, secret prefetched, waiting in /event/next) VmRSS %s; highest VmRSS sampled every 50 ms under the 32-connection load %s; VmHWM at the end of the warm-read runs %s.", mbs(r.rssIdle), mbs(r.rssLoadPeak), mbs(r.rssHWM))
		p("")
	}
}

func (r *report) economySection(p printer) {
	if !r.cfg.parts["economy"] {
		return
	}
	p("## 4. Upstream economy")
	p("")
	if r.hourCalls != nil {
		p("- Simulated hour (`cache.TestUpstreamCallsInSimulatedHour`): a fake wall clock steps through 3600 s at TTL 60 s, with an INVOKE (`RefreshIfExpired`) and 4 concurrent reads every 250 ms: **%.0f upstream calls** for %.0f reads (one at start, one per expiry).", *r.hourCalls, r.hourRequests)
	}
	if r.miShared != nil {
		p("- Managed Instances, simulated hour at TTL 60 s (`cache.TestManagedInstancesEconomyInSimulatedHour`): 8 worker processes reading every 250 ms (%.0f reads). One shared extension refreshing ahead of expiry: **%.0f upstream calls**, no read meeting an expired value; 8 in-process caches, one per worker: **%.0f upstream calls** (%.1fx).",
			r.miReads, *r.miShared, r.miInProcess, r.miInProcess / *r.miShared)
	}
	if r.inProcessExpiryCalls != nil {
		p("- 500 concurrent reads at expiry, in the cache with a fake clock (`cache.TestUpstreamCallsFor500ConcurrentAtExpiry`): **%.0f upstream call**.", *r.inProcessExpiryCalls)
	}
	for i, x := range r.expiryRounds {
		p("- Binary + moto, round %d: %d concurrent `GET /secret/%s` on separate connections once the entry had expired (TTL %s); the upstream call was held at a `upstreamtest.Proxy` until every request was written and read off its socket (%d server-side connections open), then released: **%d upstream call(s)** counted by the proxy; answers %v, %d transport errors, %d answered before the release; %s in all.",
			i+1, expiryReaders, r.cfg.slice, expiryTTL, x.sockets, x.upstreamCalls, x.statuses, x.errors, x.answeredEarly, x.elapsed.Round(time.Millisecond))
	}
	p("")
}

func (r *report) goSection(p printer) {
	if !r.cfg.parts["go"] {
		return
	}
	p("## 5. Go benchmarks")
	p("")
	p("Test binaries of ./cache and ./server built once with `go test -c`, then run in turn for %d rounds of `-test.bench -test.benchmem -test.count 1 -test.benchtime %s`, so that load from elsewhere hits subject and baseline alike. Medians:", r.cfg.benchCount, r.cfg.benchTime)
	p("")
	p("| benchmark | what | time/op | B/op | allocs/op | vs baseline |")
	p("|---|---|---|---|---|---|")
	for _, gb := range goBenchmarks {
		res, ok := r.goBench[gb.name]
		if !ok {
			continue
		}
		vs := ""
		if base, ok := r.goBench[gb.baseline]; ok && gb.baseline != "" {
			vs = fmt.Sprintf("%.1f× time of %s", ratio(res.nsPerOp, base.nsPerOp), strings.TrimPrefix(gb.baseline, "Benchmark"))
		}
		p("| %s | %s | %s | %.0f | %.0f | %s |", strings.TrimPrefix(gb.name, "Benchmark"), gb.what, fmtNs(res.nsPerOp), res.bytesPerOp, res.aps, vs)
	}
	p("")
	if r.benchstat != "" {
		p("benchstat:")
		p("")
		p("```")
		p("%s", strings.TrimSpace(r.benchstat))
		p("```")
	} else {
		p("Raw `go test` output (benchstat format):")
		p("")
		p("```")
		p("%s", strings.TrimSpace(r.goBenchRaw))
		p("```")
	}
	p("")
}
