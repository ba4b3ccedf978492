package main

import (
	"context"
	"fmt"
	"os"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

// runFirstFetch times cold starts whose first fetch goes over TLS, as on
// AWS, against the limit: minext doing one TLS GET of the same answer with
// net/http's defaults, at full CPU and at a tenth of one.
func runFirstFetch(ctx context.Context, c report.Config, env *emulator, r *report.Report) error {
	front, err := startTLSFront(env.moto.URL())
	if err != nil {
		return fmt.Errorf("TLS front: %w", err)
	}
	defer front.close()
	r.TLSRoots = front.roots
	overTLS := func(bin string, port int) []string {
		e := append(env.extEnv(front.url, port, "300s"), front.env...)
		if bin == c.MinExt {
			e = append(e, "STARFLEET_BENCH_FETCH_URL="+front.url)
		}
		return e
	}
	r.Command(fmt.Sprintf("STARFLEET_BENCH_FETCH_URL=%s %s, %s  # the first fetch over TLS (a local front before moto, a root among the system's %d), alternately, %d runs each", front.url, c.MinExt, c.Bin, front.roots, c.ColdRuns))
	if err := alternateColdStarts(ctx, c, overTLS, c.ColdRuns, "TLS run", &r.TLSBaseline, &r.TLSSubject); err != nil {
		return err
	}
	cg, err := proc.NewCPUCgroup(fmt.Sprintf("starfleet-bench-tls-%d", os.Getpid()), report.ThrottleFraction)
	if err != nil {
		r.TLSThrottleNote = err.Error()
		return nil
	}
	defer cg.Close()
	r.Command(fmt.Sprintf("the same, %d runs each, inside a cgroup capped at %.1f CPU", c.ColdThrottledRuns, report.ThrottleFraction))
	return alternateColdStarts(ctx, c, overTLS, c.ColdThrottledRuns, "capped TLS run", &r.TLSThrottledBaseline, &r.TLSThrottledSubject, cg.Wrap()...)
}
