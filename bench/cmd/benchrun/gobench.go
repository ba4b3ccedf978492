package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// goBenchmarks are the Go benchmarks of the hit path, in report order, with
// the baseline each one is compared with ("" for none).
var goBenchmarks = []struct{ name, pkg, baseline, what string }{
	{"BenchmarkGetFreshPrimary", "./cache", "", "cache.Get, Starfleet secret fresh (the hit path's lookup)"},
	{"BenchmarkGetFreshPrimaryParallel", "./cache", "", "the same Get from every core at once (a shared write on the hit path would show here)"},
	{"BenchmarkHandlerSlice", "./server", "BenchmarkHandlerSliceBare", "handler, GET /secret/{slice}: a request as the server makes it (connection context, one copy per request), discarding writer"},
	{"BenchmarkHandlerSliceBare", "./server", "", "baseline: bare handler writing the same headers and body"},
	{"BenchmarkHandlerSliceRecorder", "./server", "", "handler via httptest.NewRecorder (recorder allocations included)"},
	{"BenchmarkParseDocument", "./cache", "BenchmarkParseDocumentBaseline", "cache.ParseDocument of testdata/starfleet-secret.json"},
	{"BenchmarkParseDocumentBaseline", "./cache", "", "baseline: json.Unmarshal into map[string]json.RawMessage"},
	{"BenchmarkGetRefresh", "./cache", "", "fetch path without network (TTL 0, instant source): parse + ETags"},
}

// benchResult is the median of one benchmark's runs.
type benchResult struct {
	runs                     int
	nsPerOp, bytesPerOp, aps float64 // aps: allocs/op
}

func runGoBenchmarks(ctx context.Context, c config, r *report) error {
	// Each package's test binary is built once, then the binaries run in
	// turn, one round of every benchmark at a time, so that load from
	// elsewhere on the machine hits subject and baseline alike.
	pkgs := map[string][]string{}
	var order []string
	for _, b := range goBenchmarks {
		if _, ok := pkgs[b.pkg]; !ok {
			order = append(order, b.pkg)
		}
		pkgs[b.pkg] = append(pkgs[b.pkg], b.name)
	}
	bins := map[string]string{}
	for _, pkg := range order {
		bin, err := testBinary(ctx, c, r, pkg)
		if err != nil {
			return err
		}
		bins[pkg] = bin
	}
	var all strings.Builder
	for round := range c.benchCount {
		for _, pkg := range order {
			args := []string{"-test.run", "^$", "-test.bench", "^(" + strings.Join(pkgs[pkg], "|") + ")$",
				"-test.benchmem", "-test.count", "1", "-test.benchtime", c.benchTime}
			if round == 0 {
				r.command(fmt.Sprintf("(cd %s && %s)  # x%d, packages alternating", pkg, shellQuote(fromPkg(pkg, bins[pkg]), args...), c.benchCount))
			}
			cmd := exec.CommandContext(ctx, bins[pkg], args...)
			cmd.Dir = pkg // the benchmarks read ../testdata
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			all.Write(out)
			if err != nil {
				return fmt.Errorf("%s: %w\n%s", bins[pkg], err, tail(out, 4000))
			}
		}
	}
	raw := filepath.Join(c.rawDir, "gobench.txt")
	if err := os.WriteFile(raw, []byte(all.String()), 0o644); err != nil {
		return err
	}
	r.goBench = parseGoBench(all.String())
	r.goBenchRaw = all.String()

	// The allocation guard of the hit path, as a test (it also runs in
	// make test).
	out, err := runTests(ctx, c, r, "./cache", "^TestGetFreshPrimaryAllocatesNothing$")
	if err != nil {
		return err
	}
	if v, ok := parseFigures(string(out))["get_fresh_allocs"]; ok {
		r.getAllocsPerRun = &v
	}

	if c.benchstat != "" {
		runBenchstat(ctx, c, r, raw)
	}
	return nil
}

// runBenchstat summarises the raw benchmark output into the report.
func runBenchstat(ctx context.Context, c config, r *report, raw string) {
	r.command(shellQuote(c.goCmd, "run", c.benchstat, raw))
	cmd := exec.CommandContext(ctx, c.goCmd, "run", c.benchstat, raw)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.benchstat = fmt.Sprintf("benchstat failed: %v\n%s", err, stderr.String())
		return
	}
	r.benchstat = string(out)
	os.WriteFile(filepath.Join(c.rawDir, "benchstat.txt"), out, 0o644)
}

// testBinary builds pkg's test binary once per run, into the raw directory.
func testBinary(ctx context.Context, c config, r *report, pkg string) (string, error) {
	if bin, ok := r.testBins[pkg]; ok {
		return bin, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.rawDir, "bin"))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg)+".test")
	args := []string{"test", "-c", "-o", bin}
	if c.testRace {
		args = append(args, "-race")
	}
	if _, err := runCmd(ctx, r, nil, c.goCmd, append(args, pkg)...); err != nil {
		return "", err
	}
	if r.testBins == nil {
		r.testBins = map[string]string{}
	}
	r.testBins[pkg] = bin
	return bin, nil
}

// runTests runs the tests of pkg matching pattern, verbosely, from the
// package's directory as go test would.
func runTests(ctx context.Context, c config, r *report, pkg, pattern string) ([]byte, error) {
	bin, err := testBinary(ctx, c, r, pkg)
	if err != nil {
		return nil, err
	}
	args := []string{"-test.count", "1", "-test.v", "-test.run", pattern}
	r.command(fmt.Sprintf("(cd %s && %s)", pkg, shellQuote(fromPkg(pkg, bin), args...)))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = pkg
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", bin, err, tail(out, 4000))
	}
	return out, nil
}

// fromPkg is how bin is named from pkg's directory, for the report.
func fromPkg(pkg, bin string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(filepath.Join(wd, pkg), bin); err == nil {
			return rel
		}
	}
	return bin
}

// parseGoBench reads `go test -bench -benchmem` output and returns, per
// benchmark (GOMAXPROCS suffix removed), the median of each metric.
func parseGoBench(out string) map[string]benchResult {
	type samples struct{ ns, b, a []float64 }
	all := map[string]*samples{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		s := all[name]
		if s == nil {
			s = &samples{}
			all[name] = s
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.b = append(s.b, v)
			case "allocs/op":
				s.a = append(s.a, v)
			}
		}
	}
	res := map[string]benchResult{}
	for name, s := range all {
		if len(s.ns) == 0 {
			continue
		}
		res[name] = benchResult{runs: len(s.ns), nsPerOp: medianF(s.ns), bytesPerOp: medianF(s.b), aps: medianF(s.a)}
	}
	return res
}

var figureRE = regexp.MustCompile(`([a-z0-9_]+)=([0-9.]+)`)

// parseFigures collects name=value pairs from "figure ..." lines that the
// bench tests log.
func parseFigures(out string) map[string]float64 {
	figs := map[string]float64{}
	for line := range strings.Lines(out) {
		_, rest, ok := strings.Cut(line, "figure ")
		if !ok {
			continue
		}
		for _, m := range figureRE.FindAllStringSubmatch(rest, -1) {
			if v, err := strconv.ParseFloat(m[2], 64); err == nil {
				figs[m[1]] = v
			}
		}
	}
	return figs
}

// medianF is the median of xs (NaN-free); 0 for none.
func medianF(xs []float64) float64 {
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
