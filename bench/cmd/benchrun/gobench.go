package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

func runGoBenchmarks(ctx context.Context, c report.Config, r *report.Report) error {
	// Each package's test binary is built once, then the binaries run in
	// turn, one round of every benchmark at a time, so that load from
	// elsewhere on the machine hits subject and baseline alike.
	pkgs := map[string][]string{}
	var order []string
	for _, b := range report.GoBenchmarks {
		if _, ok := pkgs[b.Pkg]; !ok {
			order = append(order, b.Pkg)
		}
		pkgs[b.Pkg] = append(pkgs[b.Pkg], b.Name)
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
	for round := range c.BenchCount {
		for _, pkg := range order {
			args := []string{"-test.run", "^$", "-test.bench", "^(" + strings.Join(pkgs[pkg], "|") + ")$",
				"-test.benchmem", "-test.count", "1", "-test.benchtime", c.BenchTime}
			if round == 0 {
				r.Command(fmt.Sprintf("(cd %s && %s)  # x%d, packages alternating", pkg, shellQuote(fromPkg(pkg, bins[pkg]), args...), c.BenchCount))
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
	raw := filepath.Join(c.RawDir, "gobench.txt")
	if err := os.WriteFile(raw, []byte(all.String()), 0o644); err != nil {
		return err
	}
	r.GoBench = report.ParseGoBench(all.String())
	r.GoBenchRaw = all.String()

	// The allocation guard of the hit path, as a test (it also runs in
	// make test).
	out, err := runTests(ctx, c, r, "./cache", "^TestGetFreshPrimaryAllocatesNothing$")
	if err != nil {
		return err
	}
	if v, ok := report.ParseFigures(string(out))["get_fresh_allocs"]; ok {
		r.GetAllocsPerRun = &v
	}

	if c.Benchstat != "" {
		runBenchstat(ctx, c, r, raw)
	}
	return nil
}

// runBenchstat summarises the raw benchmark output into the report.
func runBenchstat(ctx context.Context, c report.Config, r *report.Report, raw string) {
	r.Command(shellQuote(c.GoCmd, "run", c.Benchstat, raw))
	cmd := exec.CommandContext(ctx, c.GoCmd, "run", c.Benchstat, raw)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.Benchstat = fmt.Sprintf("benchstat failed: %v\n%s", err, stderr.String())
		return
	}
	r.Benchstat = string(out)
	os.WriteFile(filepath.Join(c.RawDir, "benchstat.txt"), out, 0o644)
}

// testBinary builds pkg's test binary once per run, into the raw directory.
func testBinary(ctx context.Context, c report.Config, r *report.Report, pkg string) (string, error) {
	if bin, ok := r.TestBins[pkg]; ok {
		return bin, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.RawDir, "bin"))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg)+".test")
	args := []string{"test", "-c", "-o", bin}
	if c.TestRace {
		args = append(args, "-race")
	}
	if _, err := runCmd(ctx, r, nil, c.GoCmd, append(args, pkg)...); err != nil {
		return "", err
	}
	if r.TestBins == nil {
		r.TestBins = map[string]string{}
	}
	r.TestBins[pkg] = bin
	return bin, nil
}

// runTests runs the tests of pkg matching pattern, verbosely, from the
// package's directory as go test would.
func runTests(ctx context.Context, c report.Config, r *report.Report, pkg, pattern string) ([]byte, error) {
	bin, err := testBinary(ctx, c, r, pkg)
	if err != nil {
		return nil, err
	}
	args := []string{"-test.count", "1", "-test.v", "-test.run", pattern}
	r.Command(fmt.Sprintf("(cd %s && %s)", pkg, shellQuote(fromPkg(pkg, bin), args...)))
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
