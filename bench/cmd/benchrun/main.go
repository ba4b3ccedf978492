// Command benchrun runs the benchmarks and writes bench/REPORT.md:
// warm reads under wrk against a bare net/http baseline, cold start against a
// minimal extension, footprint (binary, layer zip, RSS), upstream economy,
// the Go benchmarks of the hit path, and an AWS SDK's read through the
// extension against the same read straight to the emulator. Every figure that has a target is
// compared with a baseline measured in the same run, because this machine is
// small and noisy: ratios travel, absolute numbers do not.
//
// `make bench` builds the binaries and runs it; `make bench-smoke` runs every
// part briefly (-smoke) and only checks that each figure was produced.
//
// It only talks to processes it starts on 127.0.0.1, and bounds every loop in
// count and time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

func main() {
	c := parseFlags()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config.
func parseFlags() report.Config {
	var c report.Config
	var parts string
	flag.BoolVar(&c.Smoke, "smoke", false, "run every part briefly and check only that each figure was produced")
	flag.StringVar(&parts, "parts", strings.Join(report.AllParts, ","), "comma-separated parts to run: "+strings.Join(report.AllParts, ","))
	flag.StringVar(&c.Out, "out", "bench/REPORT.md", "report to write")
	flag.StringVar(&c.RawDir, "raw", "bench/out", "directory for raw outputs")
	flag.StringVar(&c.GoCmd, "go", "go", "go command")
	flag.StringVar(&c.Bin, "bin", "bin/starfleet-secrets", "extension binary (make build)")
	flag.StringVar(&c.BinARM64, "bin-arm64", "bench/out/bin/linux-arm64/starfleet-secrets", "extension binary for linux/arm64 (empty: skip arm64)")
	flag.StringVar(&c.Bare, "bare", "bench/out/bin/bare", "baseline HTTP server binary (bench/cmd/bare)")
	flag.StringVar(&c.MinExt, "minext", "bench/out/bin/minext", "baseline extension binary (bench/cmd/minext)")
	flag.StringVar(&c.Peer, "peer", "", "another extension binary (AWS's cache-extension-demo, built beside the project) to time from start to registered, alternating with ours; empty skips it")
	flag.StringVar(&c.DistDir, "dist", "dist", "directory holding starfleet-secrets-layer-{x86_64,arm64}.zip from make layer")
	flag.StringVar(&c.Secret, "secret", "testdata/starfleet-secret.json", "the Starfleet secret to serve")
	flag.StringVar(&c.Slice, "slice", "GitHubSyncWorker", "the slice warm reads and cold starts ask for")
	flag.DurationVar(&c.WrkDuration, "wrk-duration", 3*time.Second, "length of one wrk run")
	flag.IntVar(&c.WrkPairs, "wrk-pairs", 8, "baseline,subject pairs of wrk runs per connection count")
	flag.IntVar(&c.ColdRuns, "cold-runs", 25, "cold starts per binary")
	flag.IntVar(&c.ColdThrottledRuns, "cold-throttled-runs", 20, "cold starts per binary inside a cgroup capped at a tenth of a CPU")
	flag.IntVar(&c.InitRuns, "init-runs", 11, "GODEBUG=inittrace=1 runs per binary")
	flag.IntVar(&c.ExpiryRounds, "expiry-rounds", 3, "rounds of 500 concurrent reads at expiry against the binary")
	flag.IntVar(&c.SDKReads, "sdk-reads", 2000, "GetSecretValue calls by the Go SDK, through the extension and straight to moto, each")
	flag.IntVar(&c.BenchCount, "bench-count", 6, "go test -count for the Go benchmarks")
	flag.StringVar(&c.BenchTime, "bench-time", "1s", "go test -benchtime for the Go benchmarks")
	flag.StringVar(&c.Benchstat, "benchstat", "golang.org/x/perf/cmd/benchstat@latest", "benchstat to `go run`; empty skips it")
	flag.DurationVar(&c.PollPause, "poll-pause", 250*time.Microsecond, "pause between connect attempts when timing start to listening (0: spin with runtime.Gosched); a pure spin takes one of a 2-core machine's cores from the process being timed")
	flag.BoolVar(&c.BareTimeouts, "bare-timeouts", false, "give the warm-read baseline the extension's http.Server timeouts (a diagnostic; the targets use the bare server)")
	flag.BoolVar(&c.TestRace, "test-race", false, "build the Go test binaries with -race, sharing make test's build cache (figures then only show that the benchmarks run)")
	flag.DurationVar(&c.TotalDeadline, "deadline", 9*time.Minute, "bound on the whole run")
	flag.Parse()
	if c.Smoke {
		briefDefaults(&c)
	}
	c.Parts = map[string]bool{}
	for p := range strings.SplitSeq(parts, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.Parts[p] = true
		}
	}
	return c
}

// briefDefaults makes every part brief, for -smoke, unless a flag set it
// explicitly.
func briefDefaults(c *report.Config) {
	{
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		defaults := map[string]func(){
			"wrk-duration":        func() { c.WrkDuration = time.Second },
			"wrk-pairs":           func() { c.WrkPairs = 1 },
			"cold-runs":           func() { c.ColdRuns = 3 },
			"cold-throttled-runs": func() { c.ColdThrottledRuns = 1 },
			"init-runs":           func() { c.InitRuns = 2 },
			"expiry-rounds":       func() { c.ExpiryRounds = 1 },
			"sdk-reads":           func() { c.SDKReads = 50 },
			"bench-count":         func() { c.BenchCount = 1 },
			"bench-time":          func() { c.BenchTime = "100x" },
			"benchstat":           func() { c.Benchstat = "" },
			"deadline":            func() { c.TotalDeadline = 3 * time.Minute },
			"out":                 func() { c.Out = "bench/out/REPORT-smoke.md" },
		}
		for name, apply := range defaults {
			if !set[name] {
				apply()
			}
		}
	}
}

func run(c report.Config) error {
	for p := range c.Parts {
		if !contains(report.AllParts, p) {
			return fmt.Errorf("unknown part %q; want some of %s", p, strings.Join(report.AllParts, ","))
		}
	}
	if err := os.MkdirAll(c.RawDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.TotalDeadline)
	defer cancel()

	began := time.Now()
	r := &report.Report{Config: c, Started: began.UTC()}
	r.Machine = report.MachineInfo(ctx, c.GoCmd)
	logf("machine: %s, %d cores, Go %s", r.Machine.CPU, r.Machine.NProc, r.Machine.GoVersion)

	// Parts that need no emulator first; then one moto for the rest.
	var errs []error
	step := func(name string, f func() error) {
		if err := runPart(c, name, f); err != nil {
			errs = append(errs, err)
		}
	}
	step("go", func() error { return runGoBenchmarks(ctx, c, r) })
	step("footprint", func() error { return runFootprint(ctx, c, r) })
	var env *emulator
	if c.Parts["economy"] || c.Parts["coldstart"] || c.Parts["tls"] || c.Parts["warm"] || c.Parts["sdk"] {
		var err error
		if env, err = startEmulator(ctx, c); err != nil {
			return err
		}
		defer env.close()
		r.Command(env.describe())
	}
	step("economy", func() error { return runEconomy(ctx, c, env, r) })
	step("coldstart", func() error { return runColdStart(ctx, c, env, r) })
	step("tls", func() error { return runFirstFetch(ctx, c, env, r) })
	step("warm", func() error { return runWarm(ctx, c, env, r) })
	step("sdk", func() error { return runSDK(ctx, c, env, r) })
	r.Elapsed = time.Since(began)
	if err := writeReport(c.Out, r); err != nil {
		return err
	}
	if missing := r.MissingFigures(); len(missing) > 0 {
		errs = append(errs, fmt.Errorf("figures not produced: %s", strings.Join(missing, ", ")))
	}
	return errors.Join(errs...)
}

// runPart runs part name, if the flags ask for it, logging how it went.
func runPart(c report.Config, name string, f func() error) error {
	if !c.Parts[name] {
		return nil
	}
	t := time.Now()
	logf("%s: start", name)
	if err := f(); err != nil {
		logf("%s: FAILED: %v", name, err)
		return fmt.Errorf("%s: %w", name, err)
	}
	logf("%s: done in %s", name, time.Since(t).Round(time.Millisecond))
	return nil
}

// writeReport writes r to out and logs each target's verdict.
func writeReport(out string, r *report.Report) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %s", out, r.Elapsed.Round(time.Second))
	for _, t := range r.Targets() {
		logf("target %-60s %-14s %s", t.Name, t.Verdict(), t.Figure)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// runCmd runs a short command and returns its combined output; the report
// lists it.
func runCmd(ctx context.Context, r *report.Report, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	cmd.WaitDelay = 5 * time.Second
	if r != nil {
		r.Command(shellQuote(name, args...))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", shellQuote(name, args...), err, tail(out, 4000))
	}
	return out, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func shellQuote(name string, args ...string) string {
	parts := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$|&;()<>*?[]{}\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
