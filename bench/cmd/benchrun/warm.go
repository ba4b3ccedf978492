package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	rps        float64
	p50, p99   time.Duration
	requests   int64
	non2xx     int64
	sockErrors string // wrk's "Socket errors" line, if any
	cpu        time.Duration
}

// cpuPerRequest is the server's CPU time per answered request.
func (w wrkResult) cpuPerRequest() time.Duration {
	if w.requests == 0 {
		return 0
	}
	return w.cpu / time.Duration(w.requests)
}

// warmLevel is every run at one connection count.
type warmLevel struct {
	conns, threads    int
	baseline, subject []wrkResult
}

func runWarm(ctx context.Context, c config, env *emulator, r *report) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: apt-get install -y wrk (make bench does it)")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	p := newExtProc(port)
	r.command(fmt.Sprintf("STARFLEET_SECRETS_TTL=3600s STARFLEET_SECRETS_PORT=%d %s  # under extensiontest, secret from moto", port, c.bin))
	if err := p.startIdle(ctx, c.bin, env.extEnv(env.moto.URL(), port, "3600s")); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			p.kill()
		}
	}()
	// Idle: registered, prefetched, waiting in /event/next, nothing served.
	if v, err := procStatus(p.pid(), "VmRSS"); err == nil {
		r.rssIdle = v
	} else {
		return err
	}

	subjectURL := "http://" + p.addr() + "/secret/" + c.slice
	bare, barePort, err := startBareLike(ctx, c, r, subjectURL)
	if err != nil {
		return err
	}
	defer bare.stop()
	bareURL := "http://127.0.0.1:" + strconv.Itoa(barePort) + "/secret/" + c.slice

	r.command(fmt.Sprintf("wrk -t1 -c<1|32|64> -d%s --latency -H '%s: $TOKEN' <url>  # baseline and subject alternately, %d pairs per level, after a 1s warm-up of each; $TOKEN is %d bytes",
		c.wrkDuration, tokenHeader, c.wrkPairs, len(benchToken)))
	for _, level := range []struct{ conns, threads int }{{1, 1}, {32, 1}, {64, 1}} {
		lv, err := warmPairs(ctx, c, r, level.conns, level.threads, bareURL, bare.cmd.Process.Pid, subjectURL, p.pid())
		if err != nil {
			return err
		}
		r.warm = append(r.warm, lv)
	}
	if v, err := procStatus(p.pid(), "VmHWM"); err == nil {
		r.rssHWM = v
	}
	ok = true
	return p.stop(ctx)
}

// startBareLike starts the baseline server answering with the bytes and
// ETag the subject answers subjectURL with.
func startBareLike(ctx context.Context, c config, r *report, subjectURL string) (*bareServer, int, error) {
	status, body, etag, err := getOnce(ctx, newClient(false, 1), subjectURL)
	if err != nil || status != 200 {
		return nil, 0, fmt.Errorf("GET %s: %d %v", subjectURL, status, err)
	}
	bodyFile := filepath.Join(c.rawDir, "bare-body.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, 0, err
	}
	r.warmBodyBytes = len(body)
	barePort, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	bare, err := startBare(ctx, r, c.bare, barePort, bodyFile, etag)
	return bare, barePort, err
}

// warmPairs runs wrk at one level of connections against the baseline and
// the subject alternately, after a warm-up of each.
func warmPairs(ctx context.Context, c config, r *report, conns, threads int, bareURL string, barePID int, subjectURL string, subjectPID int) (warmLevel, error) {
	lv := warmLevel{conns: conns, threads: threads}
	for _, url := range []string{bareURL, subjectURL} { // warm-up
		if _, err := runWrk(ctx, c, url, conns, threads, time.Second, 0); err != nil {
			return lv, err
		}
	}
	for range c.wrkPairs {
		res, err := runWrk(ctx, c, bareURL, conns, threads, c.wrkDuration, barePID)
		if err != nil {
			return lv, err
		}
		lv.baseline = append(lv.baseline, res)
		var peak int64
		stopSampling := sampleRSS(subjectPID, &peak)
		res, err = runWrk(ctx, c, subjectURL, conns, threads, c.wrkDuration, subjectPID)
		stopSampling()
		if err != nil {
			return lv, err
		}
		lv.subject = append(lv.subject, res)
		if conns == 32 {
			r.rssLoadPeak = max(r.rssLoadPeak, peak)
		}
		logf("warm: c=%d bare %.0f req/s p99 %s | subject %.0f req/s p99 %s", conns,
			lv.baseline[len(lv.baseline)-1].rps, lv.baseline[len(lv.baseline)-1].p99, res.rps, res.p99)
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
			if v, err := procStatus(pid, "VmRSS"); err == nil {
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
func runWrk(ctx context.Context, c config, url string, conns, threads int, d time.Duration, pid int) (wrkResult, error) {
	secs := max(int(d/time.Second), 1)
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s",
		"--latency", "-H", tokenHeader + ": " + benchToken, url}
	var before time.Duration
	if pid > 0 {
		before, _ = cpuTime(pid)
	}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	if pid > 0 {
		after, _ := cpuTime(pid)
		res.cpu = after - before
	}
	name := fmt.Sprintf("wrk-c%d-%d.txt", conns, time.Now().UnixNano())
	os.WriteFile(filepath.Join(c.rawDir, name), out, 0o644)
	if res.non2xx > 0 || res.sockErrors != "" {
		return res, fmt.Errorf("wrk %s: %d non-2xx answers, socket errors %q", url, res.non2xx, res.sockErrors)
	}
	return res, nil
}

// parseWrk reads wrk --latency output.
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	var haveRPS, have50, have99 bool
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return res, fmt.Errorf("requests/sec %q: %w", f[1], err)
			}
			res.rps, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return res, err
			}
			if f[0] == "50%" {
				res.p50, have50 = d, true
			} else {
				res.p99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return res, fmt.Errorf("request count %q: %w", f[0], err)
			}
			res.requests = n
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				return res, err
			}
			res.non2xx = n
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			res.sockErrors = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Socket errors:"))
		}
	}
	if !haveRPS || !have50 || !have99 || res.requests == 0 {
		return res, fmt.Errorf("incomplete wrk output (requests/sec %v, p50 %v, p99 %v, requests %d)", haveRPS, have50, have99, res.requests)
	}
	return res, nil
}

// parseWrkDuration reads wrk's "26.00us", "1.23ms", "2.00s", "1.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("duration %q: unknown unit", s)
}
