package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// runFirstFetch times cold starts whose first fetch goes over TLS, as on
// AWS, against the limit: minext doing one TLS GET of the same answer with
// net/http's defaults, at full CPU and at a tenth of one.
func runFirstFetch(ctx context.Context, c config, env *emulator, r *report) error {
	front, err := startTLSFront(env.moto.URL())
	if err != nil {
		return fmt.Errorf("TLS front: %w", err)
	}
	defer front.close()
	r.tlsRoots = front.roots
	overTLS := func(bin string, port int) []string {
		e := append(env.extEnv(front.url, port, "300s"), front.env...)
		if bin == c.minext {
			e = append(e, "STARFLEET_BENCH_FETCH_URL="+front.url)
		}
		return e
	}
	r.command(fmt.Sprintf("STARFLEET_BENCH_FETCH_URL=%s %s, %s  # the first fetch over TLS (a local front before moto, a root among the system's %d), alternately, %d runs each", front.url, c.minext, c.bin, front.roots, c.coldRuns))
	if err := alternateColdStarts(ctx, c, overTLS, c.coldRuns, "TLS run", &r.tlsBaseline, &r.tlsSubject); err != nil {
		return err
	}
	cg, err := newCPUCgroup(fmt.Sprintf("starfleet-bench-tls-%d", os.Getpid()), throttleFraction)
	if err != nil {
		r.tlsThrottleNote = err.Error()
		return nil
	}
	defer cg.close()
	r.command(fmt.Sprintf("the same, %d runs each, inside a cgroup capped at %.1f CPU", c.coldThrottledRuns, throttleFraction))
	return alternateColdStarts(ctx, c, overTLS, c.coldThrottledRuns, "capped TLS run", &r.tlsThrottledBaseline, &r.tlsThrottledSubject, cg.wrap()...)
}

// firstFetchTargets: the first slice served, and the CPU spent until
// then, within 1.2× the limit at full CPU and at a tenth of one.
func (r *report) firstFetchTargets() []target {
	var ts []target
	for _, run := range []struct {
		where             string
		subject, baseline coldStats
	}{{"full CPU", r.tlsSubject, r.tlsBaseline}, {fmt.Sprintf("%.1f CPU", throttleFraction), r.tlsThrottledSubject, r.tlsThrottledBaseline}} {
		for _, m := range []struct {
			what string
			of   func(coldSample) time.Duration
		}{{"process start to first slice served", servedOf}, {"CPU time to first slice served", cpuServedOf}} {
			t := target{name: fmt.Sprintf("first fetch over TLS, %s, %s: median ≤ 1.2× one TLS GET by a minimal Go extension", run.where, m.what)}
			if len(run.subject.samples) > 0 && len(run.baseline.samples) > 0 {
				s, b, x := medians(run.subject, run.baseline, m.of)
				t.have, t.met, t.figure = true, x <= 1.2, fmt.Sprintf("%s vs %s: %.2f×", ms(s), ms(b), x)
			} else if run.baseline.samples == nil && r.tlsThrottleNote != "" && run.where != "full CPU" {
				t.figure = "not measured: " + r.tlsThrottleNote
			}
			ts = append(ts, t)
		}
	}
	return ts
}

func (r *report) firstFetchSection(p printer) {
	if !r.cfg.parts["tls"] {
		return
	}
	p("## 2b. The first fetch over TLS")
	p("")
	p("As section 2, but Secrets Manager is reached over HTTPS, as on AWS: a local TLS front before moto presents a leaf and an intermediate under a root of its own (RSA 2048, as Amazon's chain), and both processes trust that root among the system's %d through `SSL_CERT_FILE`, with `SSL_CERT_DIR` holding the bundle once more, as Amazon Linux's `/etc/pki/tls/certs` does. The limit is `bench/cmd/minext` with `STARFLEET_BENCH_FETCH_URL`: after registering it makes one TLS request of the same answer with net/http's defaults and answers it.", r.tlsRoots)
	p("")
	milestoneTable(p, "milestone over TLS", r.tlsSubject, r.tlsBaseline)
	if len(r.tlsThrottledSubject.samples) > 0 {
		p("The same at %.1f CPU:", throttleFraction)
		p("")
		milestoneTable(p, fmt.Sprintf("milestone over TLS at %.1f CPU", throttleFraction), r.tlsThrottledSubject, r.tlsThrottledBaseline)
	}
}
