package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

func runWarm(ctx context.Context, c report.Config, env *emulator, r *report.Report) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: apt-get install -y wrk (make bench does it)")
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	p := proc.NewExt(port)
	r.Command(fmt.Sprintf("STARFLEET_SECRETS_TTL=3600s STARFLEET_SECRETS_PORT=%d %s  # under extensiontest, secret from moto", port, c.Bin))
	if err := p.StartIdle(ctx, c.Bin, env.extEnv(env.moto.URL(), port, "3600s")); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			p.Kill()
		}
	}()
	// Idle: registered, prefetched, waiting in /event/next, nothing served.
	if v, err := proc.Status(p.PID(), "VmRSS"); err == nil {
		r.RSSIdle = v
	} else {
		return err
	}

	subjectURL := "http://" + p.Addr() + "/secret/" + c.Slice
	bare, barePort, err := startBareLike(ctx, c, r, subjectURL)
	if err != nil {
		return err
	}
	defer bare.Stop()
	bareURL := "http://127.0.0.1:" + strconv.Itoa(barePort) + "/secret/" + c.Slice

	r.Command(fmt.Sprintf("wrk -t1 -c<1|32|64> -d%s --latency -H '%s: $TOKEN' <url>  # baseline and subject alternately, %d pairs per level, after a 1s warm-up of each; $TOKEN is %d bytes",
		c.WrkDuration, tokenHeader, c.WrkPairs, len(report.Token)))
	for _, level := range []struct{ conns, threads int }{{1, 1}, {32, 1}, {64, 1}} {
		lv, err := warmPairs(ctx, c, r, level.conns, level.threads, bareURL, bare.PID(), subjectURL, p.PID())
		if err != nil {
			return err
		}
		r.Warm = append(r.Warm, lv)
	}
	if v, err := proc.Status(p.PID(), "VmHWM"); err == nil {
		r.RSSHWM = v
	}
	ok = true
	return p.Stop(ctx)
}

// startBareLike starts the baseline server answering with the bytes and
// ETag the subject answers subjectURL with.
func startBareLike(ctx context.Context, c report.Config, r *report.Report, subjectURL string) (*proc.Bare, int, error) {
	status, body, etag, err := getOnce(ctx, newClient(false, 1), subjectURL)
	if err != nil || status != 200 {
		return nil, 0, fmt.Errorf("GET %s: %d %v", subjectURL, status, err)
	}
	bodyFile := filepath.Join(c.RawDir, "bare-body.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, 0, err
	}
	r.WarmBodyBytes = len(body)
	barePort, err := proc.FreePort()
	if err != nil {
		return nil, 0, err
	}
	args := proc.BareArgs(barePort, bodyFile, etag, c.BareTimeouts)
	r.Command(shellQuote(c.Bare, args...) + " &")
	bare, err := proc.StartBare(ctx, c.Bare, barePort, args)
	return bare, barePort, err
}

// warmPairs runs wrk at one level of connections against the baseline and
// the subject alternately, after a warm-up of each.
func warmPairs(ctx context.Context, c report.Config, r *report.Report, conns, threads int, bareURL string, barePID int, subjectURL string, subjectPID int) (report.WarmLevel, error) {
	lv := report.WarmLevel{Conns: conns, Threads: threads}
	for _, url := range []string{bareURL, subjectURL} { // warm-up
		if _, err := runWrk(ctx, c, url, conns, threads, time.Second, 0); err != nil {
			return lv, err
		}
	}
	for range c.WrkPairs {
		res, err := runWrk(ctx, c, bareURL, conns, threads, c.WrkDuration, barePID)
		if err != nil {
			return lv, err
		}
		lv.Baseline = append(lv.Baseline, res)
		var peak int64
		stopSampling := sampleRSS(subjectPID, &peak)
		res, err = runWrk(ctx, c, subjectURL, conns, threads, c.WrkDuration, subjectPID)
		stopSampling()
		if err != nil {
			return lv, err
		}
		lv.Subject = append(lv.Subject, res)
		if conns == 32 {
			r.RSSLoadPeak = max(r.RSSLoadPeak, peak)
		}
		logf("warm: c=%d bare %.0f req/s p99 %s | subject %.0f req/s p99 %s", conns,
			lv.Baseline[len(lv.Baseline)-1].RPS, lv.Baseline[len(lv.Baseline)-1].P99, res.RPS, res.P99)
	}
	return lv, nil
}

// sampleRSS records the highest VmRSS of pid every 50 ms until stopped.
func sampleRSS(pid int, peak *int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := proc.Status(pid, "VmRSS"); err == nil {
				*peak = max(*peak, v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// runWrk runs one wrk and measures pid's CPU time over it (pid 0: none).
func runWrk(ctx context.Context, c report.Config, url string, conns, threads int, d time.Duration, pid int) (report.WrkResult, error) {
	secs := max(int(d/time.Second), 1)
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s",
		"--latency", "-H", tokenHeader + ": " + report.Token, url}
	var before time.Duration
	if pid > 0 {
		before, _ = proc.CPUTime(pid)
	}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return report.WrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	res, err := report.ParseWrk(string(out))
	if err != nil {
		return report.WrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	if pid > 0 {
		after, _ := proc.CPUTime(pid)
		res.CPU = after - before
	}
	name := fmt.Sprintf("wrk-c%d-%d.txt", conns, time.Now().UnixNano())
	os.WriteFile(filepath.Join(c.RawDir, name), out, 0o644)
	if res.Non2xx > 0 || res.SockErrors != "" {
		return res, fmt.Errorf("wrk %s: %d non-2xx answers, socket errors %q", url, res.Non2xx, res.SockErrors)
	}
	return res, nil
}
