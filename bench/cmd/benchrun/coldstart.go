package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// coldSample is one cold start, measured from just before the fork, and
// the CPU time (user and system, every thread) the process had used when
// it was seen registered and when it first served the slice.
type coldSample struct {
	listening, registered, served time.Duration
	cpuRegistered, cpuServed      time.Duration
}

// coldStats summarises the samples of one binary.
type coldStats struct {
	samples []coldSample
}

func (s coldStats) pick(f func(coldSample) time.Duration) []time.Duration {
	var ds []time.Duration
	for _, x := range s.samples {
		ds = append(ds, f(x))
	}
	return ds
}

func listeningOf(s coldSample) time.Duration     { return s.listening }
func registeredOf(s coldSample) time.Duration    { return s.registered }
func servedOf(s coldSample) time.Duration        { return s.served }
func cpuRegisteredOf(s coldSample) time.Duration { return s.cpuRegistered }
func cpuServedOf(s coldSample) time.Duration     { return s.cpuServed }

func runColdStart(ctx context.Context, c config, env *emulator, r *report) error {
	r.command(fmt.Sprintf("%s, %s  # each under a new extensiontest server, alternately, %d runs each; TTL 300s, secret from moto", c.minext, c.bin, c.coldRuns))
	plain := func(_ string, port int) []string { return env.extEnv(env.moto.URL(), port, "300s") }
	if err := alternateColdStarts(ctx, c, plain, c.coldRuns, "run", &r.coldBaseline, &r.coldSubject); err != nil {
		return err
	}
	// The same at a tenth of a CPU, as a 128 MB function runs.
	cg, err := newCPUCgroup(fmt.Sprintf("starfleet-bench-%d", os.Getpid()), throttleFraction)
	if err != nil {
		r.throttleNote = err.Error()
		logf("coldstart: no CPU-capped runs: %v", err)
	} else {
		defer cg.close()
		r.command(fmt.Sprintf("the same, %d runs each, inside a cgroup capped at %.1f CPU (%s)", c.coldThrottledRuns, throttleFraction, cg.dir))
		if err := alternateColdStarts(ctx, c, plain, c.coldThrottledRuns, "capped run", &r.throttledBaseline, &r.throttledSubject, cg.wrap()...); err != nil {
			return err
		}
	}
	if c.peer != "" {
		r.command(fmt.Sprintf("%s  # the peer, %d runs, start to registered only, alternating with %s", c.peer, c.coldRuns, c.bin))
		for i := range c.coldRuns {
			for _, bin := range []string{c.peer, c.bin} {
				d, cpu, err := registeredOnce(ctx, bin, env)
				if err != nil {
					return fmt.Errorf("peer run %d of %s: %w", i+1, bin, err)
				}
				if bin == c.peer {
					r.coldPeer.samples = append(r.coldPeer.samples, coldSample{registered: d, cpuRegistered: cpu})
				} else {
					r.coldPeerSubject.samples = append(r.coldPeerSubject.samples, coldSample{registered: d, cpuRegistered: cpu})
				}
			}
		}
	}
	for _, subject := range []bool{true, false} {
		bin, args := c.bin, []string{"--version"}
		if !subject {
			// minext refuses to run without its environment, after init.
			bin, args = c.minext, nil
		}
		t, err := runInitTrace(ctx, r, bin, args, c.initRuns, c.rawDir)
		if err != nil {
			return err
		}
		if subject {
			r.initSubject = t
		} else {
			r.initBaseline = t
		}
	}
	return nil
}

// procEnv is the environment a cold start of bin on port runs with.
type procEnv func(bin string, port int) []string

// alternateColdStarts starts the baseline and the subject alternately,
// runs times each (through wrap, if given), adding their samples.
func alternateColdStarts(ctx context.Context, c config, env procEnv, runs int, what string, baseline, subject *coldStats, wrap ...string) error {
	for i := range runs {
		for _, stats := range []*coldStats{baseline, subject} {
			bin := c.minext
			if stats == subject {
				bin = c.bin
			}
			if len(wrap) > 0 {
				// Inside the capped cgroup, a run that started at once
				// would start on whatever quota of the 100 ms period the
				// run before it left, and the two binaries leave different
				// amounts: a period's pause gives each the full quota.
				// A tenth of a second, too short to need ctx.
				time.Sleep(cgroupPeriod)
			}
			s, err := coldStartOnce(ctx, bin, env, c.slice, wrap...)
			if err != nil {
				return fmt.Errorf("%s %d of %s: %w", what, i+1, bin, err)
			}
			stats.samples = append(stats.samples, s)
		}
	}
	return nil
}

// registration is when a process was seen registered, and the CPU it had
// used by then.
type registration struct {
	at  time.Time
	cpu time.Duration
}

// watchRegistration reports when p registers, with the CPU time of the
// process whose pid arrives on pid, or why it did not.
func watchRegistration(ctx context.Context, p *extProc, pid <-chan int) (<-chan registration, <-chan error) {
	regAt := make(chan registration, 1)
	regErr := make(chan error, 1)
	go func() {
		if _, err := p.api.WaitRegistered(ctx); err != nil {
			regErr <- err
			return
		}
		at := time.Now()
		cpu, _ := threadsCPU(<-pid)
		regAt <- registration{at, cpu}
	}()
	return regAt, regErr
}

// coldStartOnce starts bin (through wrap, if given) under a fresh fake
// Extensions API and times
// listening (tight connect loop), registration (WaitRegistered wakes) and
// the first 200 for /secret/{slice}, then shuts it down as Lambda would.
func coldStartOnce(ctx context.Context, bin string, env procEnv, slice string, wrap ...string) (coldSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	port, err := freePort()
	if err != nil {
		return coldSample{}, err
	}
	p := newExtProc(port)
	pid := make(chan int, 1)
	regAt, regErr := watchRegistration(ctx, p, pid)
	started, err := p.start(bin, env(bin, port), wrap...)
	if err != nil {
		return coldSample{}, err
	}
	pid <- p.pid()
	ok := false
	defer func() {
		if !ok {
			p.kill()
		}
	}()
	listenAt, err := waitListening(ctx, p.addr(), p.exited)
	if err != nil {
		return coldSample{}, fmt.Errorf("%w\n%s", err, p.output)
	}
	servedAt, err := firstServed(ctx, "http://"+p.addr()+"/secret/"+slice)
	if err != nil {
		return coldSample{}, fmt.Errorf("%w\n%s", err, p.output)
	}
	cpuServed, err := threadsCPU(p.pid())
	if err != nil {
		return coldSample{}, err
	}
	var reg registration
	select {
	case reg = <-regAt:
	case err := <-regErr:
		return coldSample{}, fmt.Errorf("not registered: %w\n%s", err, p.output)
	}
	ok = true
	if err := p.stop(ctx); err != nil {
		return coldSample{}, err
	}
	return coldSample{
		listening:     listenAt.Sub(started),
		registered:    reg.at.Sub(started),
		served:        servedAt.Sub(started),
		cpuRegistered: reg.cpu,
		cpuServed:     cpuServed,
	}, nil
}

// registeredOnce starts bin under a fresh fake Extensions API, times it to
// registered (and the CPU it had used then), and kills it: a peer need not
// serve what ours does.
func registeredOnce(ctx context.Context, bin string, env *emulator) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	p := newExtProc(port)
	defer p.kill()
	started, err := p.start(bin, env.extEnv(env.moto.URL(), port, "300s"))
	if err != nil {
		return 0, 0, err
	}
	if _, err := p.api.WaitRegistered(ctx); err != nil {
		return 0, 0, fmt.Errorf("not registered: %w\n%s", err, p.output)
	}
	at := time.Now()
	cpu, err := threadsCPU(p.pid())
	return at.Sub(started), cpu, err
}

// firstServed asks for url until it answers 200, bounded by ctx and a count.
func firstServed(ctx context.Context, url string) (time.Time, error) {
	client := newClient(false, 1)
	defer client.CloseIdleConnections()
	var last string
	for range 1000 {
		status, _, _, err := getOnce(ctx, client, url)
		if err == nil && status == 200 {
			return time.Now(), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "status " + strconv.Itoa(status)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return time.Time{}, fmt.Errorf("no 200 from %s: last %s", url, last)
}

// initTrace is what GODEBUG=inittrace=1 says about package initialisation.
type initTrace struct {
	runs     int
	total    time.Duration // median over runs of the summed init clock
	end      time.Duration // median over runs of when the last init ended, from runtime start
	packages int
	byPkg    []pkgInit // median clock per package, largest first
	groups   []pkgInit // the same summed by origin
}

type pkgInit struct {
	name   string
	clock  time.Duration
	bytes  int64
	allocs int64
}

var initLineRE = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, (\d+) bytes, (\d+) allocs`)

// parseInitTrace reads the inittrace lines of one run.
func parseInitTrace(out string) (pkgs []pkgInit, end time.Duration) {
	for line := range strings.Lines(out) {
		m := initLineRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[2], 64)
		clock, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseInt(m[4], 10, 64)
		a, _ := strconv.ParseInt(m[5], 10, 64)
		pkgs = append(pkgs, pkgInit{name: m[1], clock: msDuration(clock), bytes: b, allocs: a})
		end = max(end, msDuration(at+clock))
	}
	return pkgs, end
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// origin groups a package for the init summary.
func origin(pkg string) string {
	switch {
	case pkg == "runtime":
		return "runtime"
	case strings.HasPrefix(pkg, "github.com/aws/"):
		return "AWS SDK (aws-sdk-go-v2, smithy-go)"
	case strings.HasPrefix(pkg, "github.com/go-chi/"):
		return "chi"
	case strings.HasPrefix(pkg, "github.com/starfleet/"):
		return "starfleet-secrets"
	case strings.Contains(strings.SplitN(pkg, "/", 2)[0], "."):
		return "other modules"
	}
	return "standard library"
}

func runInitTrace(ctx context.Context, r *report, bin string, args []string, runs int, rawDir string) (*initTrace, error) {
	r.command("GODEBUG=inittrace=1 " + shellQuote(bin, args...) + fmt.Sprintf("  # x%d", runs))
	perPkg := map[string][]float64{}
	bytesOf := map[string]int64{}
	allocsOf := map[string]int64{}
	var totals, ends []float64
	var last []byte
	for range runs {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(cleanEnv(os.Environ()), "GODEBUG=inittrace=1")
		out, _ := cmd.CombinedOutput() // minext exits 1 on purpose
		last = out
		pkgs, end := parseInitTrace(string(out))
		if len(pkgs) == 0 {
			return nil, fmt.Errorf("no inittrace lines from %s:\n%s", bin, tail(out, 2000))
		}
		var total time.Duration
		for _, p := range pkgs {
			total += p.clock
			perPkg[p.name] = append(perPkg[p.name], float64(p.clock))
			bytesOf[p.name], allocsOf[p.name] = p.bytes, p.allocs
		}
		totals = append(totals, float64(total))
		ends = append(ends, float64(end))
	}
	os.WriteFile(filepath.Join(rawDir, "inittrace-"+filepath.Base(bin)+".txt"), last, 0o644)
	t := &initTrace{runs: runs, total: time.Duration(medianF(totals)), end: time.Duration(medianF(ends)), packages: len(perPkg)}
	groups := map[string]*pkgInit{}
	for name, clocks := range perPkg {
		p := pkgInit{name: name, clock: time.Duration(medianF(clocks)), bytes: bytesOf[name], allocs: allocsOf[name]}
		t.byPkg = append(t.byPkg, p)
		g := groups[origin(name)]
		if g == nil {
			g = &pkgInit{name: origin(name)}
			groups[g.name] = g
		}
		g.clock += p.clock
		g.bytes += p.bytes
		g.allocs += p.allocs
	}
	sort.Slice(t.byPkg, func(i, j int) bool { return t.byPkg[i].clock > t.byPkg[j].clock })
	for _, g := range groups {
		t.groups = append(t.groups, *g)
	}
	sort.Slice(t.groups, func(i, j int) bool { return t.groups[i].clock > t.groups[j].clock })
	return t, nil
}
