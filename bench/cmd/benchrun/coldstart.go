package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

func runColdStart(ctx context.Context, c report.Config, env *emulator, r *report.Report) error {
	r.Command(fmt.Sprintf("%s, %s  # each under a new extensiontest server, alternately, %d runs each; TTL 300s, secret from moto", c.MinExt, c.Bin, c.ColdRuns))
	plain := func(_ string, port int) []string { return env.extEnv(env.moto.URL(), port, "300s") }
	if err := alternateColdStarts(ctx, c, plain, c.ColdRuns, "run", &r.ColdBaseline, &r.ColdSubject); err != nil {
		return err
	}
	// The same at a tenth of a CPU, as a 128 MB function runs.
	cg, err := proc.NewCPUCgroup(fmt.Sprintf("starfleet-bench-%d", os.Getpid()), report.ThrottleFraction)
	if err != nil {
		r.ThrottleNote = err.Error()
		logf("coldstart: no CPU-capped runs: %v", err)
	} else {
		defer cg.Close()
		r.Command(fmt.Sprintf("the same, %d runs each, inside a cgroup capped at %.1f CPU (%s)", c.ColdThrottledRuns, report.ThrottleFraction, cg.Dir))
		if err := alternateColdStarts(ctx, c, plain, c.ColdThrottledRuns, "capped run", &r.ThrottledBaseline, &r.ThrottledSubject, cg.Wrap()...); err != nil {
			return err
		}
	}
	if c.Peer != "" {
		r.Command(fmt.Sprintf("%s  # the peer, %d runs, start to registered only, alternating with %s", c.Peer, c.ColdRuns, c.Bin))
		for i := range c.ColdRuns {
			for _, bin := range []string{c.Peer, c.Bin} {
				d, cpu, err := registeredOnce(ctx, bin, env)
				if err != nil {
					return fmt.Errorf("peer run %d of %s: %w", i+1, bin, err)
				}
				if bin == c.Peer {
					r.ColdPeer.Samples = append(r.ColdPeer.Samples, report.ColdSample{Registered: d, CPURegistered: cpu})
				} else {
					r.ColdPeerSubject.Samples = append(r.ColdPeerSubject.Samples, report.ColdSample{Registered: d, CPURegistered: cpu})
				}
			}
		}
	}
	for _, subject := range []bool{true, false} {
		bin, args := c.Bin, []string{"--version"}
		if !subject {
			// minext refuses to run without its environment, after init.
			bin, args = c.MinExt, nil
		}
		t, err := runInitTrace(ctx, r, bin, args, c.InitRuns, c.RawDir)
		if err != nil {
			return err
		}
		if subject {
			r.InitSubject = t
		} else {
			r.InitBaseline = t
		}
	}
	return nil
}

// procEnv is the environment a cold start of bin on port runs with.
type procEnv func(bin string, port int) []string

// alternateColdStarts starts the baseline and the subject alternately,
// runs times each (through wrap, if given), adding their samples.
func alternateColdStarts(ctx context.Context, c report.Config, env procEnv, runs int, what string, baseline, subject *report.ColdStats, wrap ...string) error {
	for i := range runs {
		for _, stats := range []*report.ColdStats{baseline, subject} {
			bin := c.MinExt
			if stats == subject {
				bin = c.Bin
			}
			if len(wrap) > 0 {
				// Inside the capped cgroup, a run that started at once
				// would start on whatever quota of the 100 ms period the
				// run before it left, and the two binaries leave different
				// amounts: a period's pause gives each the full quota.
				// A tenth of a second, too short to need ctx.
				time.Sleep(proc.CgroupPeriod)
			}
			s, err := coldStartOnce(ctx, bin, env, c.Slice, c.PollPause, wrap...)
			if err != nil {
				return fmt.Errorf("%s %d of %s: %w", what, i+1, bin, err)
			}
			stats.Samples = append(stats.Samples, s)
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
func watchRegistration(ctx context.Context, p *proc.Ext, pid <-chan int) (<-chan registration, <-chan error) {
	regAt := make(chan registration, 1)
	regErr := make(chan error, 1)
	go func() {
		if _, err := p.API.WaitRegistered(ctx); err != nil {
			regErr <- err
			return
		}
		at := time.Now()
		cpu, _ := proc.ThreadsCPU(<-pid)
		regAt <- registration{at, cpu}
	}()
	return regAt, regErr
}

// coldStartOnce starts bin (through wrap, if given) under a fresh fake
// Extensions API and times
// listening (tight connect loop), registration (WaitRegistered wakes) and
// the first 200 for /secret/{slice}, then shuts it down as Lambda would.
func coldStartOnce(ctx context.Context, bin string, env procEnv, slice string, pause time.Duration, wrap ...string) (report.ColdSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	port, err := proc.FreePort()
	if err != nil {
		return report.ColdSample{}, err
	}
	p := proc.NewExt(port)
	pid := make(chan int, 1)
	regAt, regErr := watchRegistration(ctx, p, pid)
	started, err := p.Start(bin, env(bin, port), wrap...)
	if err != nil {
		return report.ColdSample{}, err
	}
	pid <- p.PID()
	ok := false
	defer func() {
		if !ok {
			p.Kill()
		}
	}()
	listenAt, err := proc.WaitListening(ctx, p.Addr(), p.Exited, pause)
	if err != nil {
		return report.ColdSample{}, fmt.Errorf("%w\n%s", err, p.Output)
	}
	servedAt, err := firstServed(ctx, "http://"+p.Addr()+"/secret/"+slice)
	if err != nil {
		return report.ColdSample{}, fmt.Errorf("%w\n%s", err, p.Output)
	}
	cpuServed, err := proc.ThreadsCPU(p.PID())
	if err != nil {
		return report.ColdSample{}, err
	}
	var reg registration
	select {
	case reg = <-regAt:
	case err := <-regErr:
		return report.ColdSample{}, fmt.Errorf("not registered: %w\n%s", err, p.Output)
	}
	ok = true
	if err := p.Stop(ctx); err != nil {
		return report.ColdSample{}, err
	}
	return report.ColdSample{
		Listening:     listenAt.Sub(started),
		Registered:    reg.at.Sub(started),
		Served:        servedAt.Sub(started),
		CPURegistered: reg.cpu,
		CPUServed:     cpuServed,
	}, nil
}

// registeredOnce starts bin under a fresh fake Extensions API, times it to
// registered (and the CPU it had used then), and kills it: a peer need not
// serve what ours does.
func registeredOnce(ctx context.Context, bin string, env *emulator) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	port, err := proc.FreePort()
	if err != nil {
		return 0, 0, err
	}
	p := proc.NewExt(port)
	defer p.Kill()
	started, err := p.Start(bin, env.extEnv(env.moto.URL(), port, "300s"))
	if err != nil {
		return 0, 0, err
	}
	if _, err := p.API.WaitRegistered(ctx); err != nil {
		return 0, 0, fmt.Errorf("not registered: %w\n%s", err, p.Output)
	}
	at := time.Now()
	cpu, err := proc.ThreadsCPU(p.PID())
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

func runInitTrace(ctx context.Context, r *report.Report, bin string, args []string, runs int, rawDir string) (*report.InitTrace, error) {
	r.Command("GODEBUG=inittrace=1 " + shellQuote(bin, args...) + fmt.Sprintf("  # x%d", runs))
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
		pkgs, end := report.ParseInitTrace(string(out))
		if len(pkgs) == 0 {
			return nil, fmt.Errorf("no inittrace lines from %s:\n%s", bin, tail(out, 2000))
		}
		var total time.Duration
		for _, p := range pkgs {
			total += p.Clock
			perPkg[p.Name] = append(perPkg[p.Name], float64(p.Clock))
			bytesOf[p.Name], allocsOf[p.Name] = p.Bytes, p.Allocs
		}
		totals = append(totals, float64(total))
		ends = append(ends, float64(end))
	}
	os.WriteFile(filepath.Join(rawDir, "inittrace-"+filepath.Base(bin)+".txt"), last, 0o644)
	t := &report.InitTrace{Runs: runs, Total: time.Duration(report.MedianF(totals)), End: time.Duration(report.MedianF(ends)), Packages: len(perPkg)}
	groups := map[string]*report.PkgInit{}
	for name, clocks := range perPkg {
		p := report.PkgInit{Name: name, Clock: time.Duration(report.MedianF(clocks)), Bytes: bytesOf[name], Allocs: allocsOf[name]}
		t.ByPkg = append(t.ByPkg, p)
		g := groups[report.Origin(name)]
		if g == nil {
			g = &report.PkgInit{Name: report.Origin(name)}
			groups[g.Name] = g
		}
		g.Clock += p.Clock
		g.Bytes += p.Bytes
		g.Allocs += p.Allocs
	}
	sort.Slice(t.ByPkg, func(i, j int) bool { return t.ByPkg[i].Clock > t.ByPkg[j].Clock })
	for _, g := range groups {
		t.Groups = append(t.Groups, *g)
	}
	sort.Slice(t.Groups, func(i, j int) bool { return t.Groups[i].Clock > t.Groups[j].Clock })
	return t, nil
}
