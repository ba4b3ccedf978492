package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseWrk reads wrk --latency output.
func ParseWrk(out string) (WrkResult, error) {
	var res WrkResult
	var haveRPS, have50, have99 bool
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return res, fmt.Errorf("requests/sec %q: %w", f[1], err)
			}
			res.RPS, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return res, err
			}
			if f[0] == "50%" {
				res.P50, have50 = d, true
			} else {
				res.P99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return res, fmt.Errorf("request count %q: %w", f[0], err)
			}
			res.Requests = n
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				return res, err
			}
			res.Non2xx = n
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			res.SockErrors = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Socket errors:"))
		}
	}
	if !haveRPS || !have50 || !have99 || res.Requests == 0 {
		return res, fmt.Errorf("incomplete wrk output (requests/sec %v, p50 %v, p99 %v, requests %d)", haveRPS, have50, have99, res.Requests)
	}
	return res, nil
}

// ParseWrkDuration reads wrk's "26.00us", "1.23ms", "2.00s", "1.00m".
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

// ParseGoBench reads `go test -bench -benchmem` output and returns, per
// benchmark (GOMAXPROCS suffix removed), the median of each metric.
func ParseGoBench(out string) map[string]BenchResult {
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
	res := map[string]BenchResult{}
	for name, s := range all {
		if len(s.ns) == 0 {
			continue
		}
		res[name] = BenchResult{Runs: len(s.ns), NsPerOp: MedianF(s.ns), BytesPerOp: MedianF(s.b), Aps: MedianF(s.a)}
	}
	return res
}

var figureRE = regexp.MustCompile(`([a-z0-9_]+)=([0-9.]+)`)

// ParseFigures collects name=value pairs from "figure ..." lines that the
// bench tests log.
func ParseFigures(out string) map[string]float64 {
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

var initLineRE = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, (\d+) bytes, (\d+) allocs`)

// ParseInitTrace reads the inittrace lines of one run.
func ParseInitTrace(out string) (pkgs []PkgInit, end time.Duration) {
	for line := range strings.Lines(out) {
		m := initLineRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[2], 64)
		clock, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseInt(m[4], 10, 64)
		a, _ := strconv.ParseInt(m[5], 10, 64)
		pkgs = append(pkgs, PkgInit{Name: m[1], Clock: msDuration(clock), Bytes: b, Allocs: a})
		end = max(end, msDuration(at+clock))
	}
	return pkgs, end
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// Origin groups a package for the init summary.
func Origin(pkg string) string {
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
