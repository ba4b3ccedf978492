package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// sdkReads is one series of GetSecretValue calls by the AWS SDK for Go v2.
type sdkReads struct {
	p50, p99      time.Duration
	reads         int
	upstreamCalls int // GetSecretValue calls that reached moto
}

// runSDK times the same GetSecretValue by the AWS SDK for Go v2, changed in
// nothing but its endpoint, through the extension (its SDK protocol, signed
// with the credentials the extension holds) and straight to moto, one read
// after another, and counts what reached moto.
func runSDK(ctx context.Context, c config, env *emulator, r *report) error {
	p, proxy, err := startBehindProxy(ctx, c, env, "300s")
	if err != nil {
		return err
	}
	defer proxy.Close()
	defer p.kill()
	r.command(fmt.Sprintf("STARFLEET_SECRETS_PORT=%d AWS_ENDPOINT_URL_SECRETS_MANAGER=<upstreamtest.Proxy> %s  # under extensiontest; %d GetSecretValue by aws-sdk-go-v2 through it, and %d straight to the proxy",
		p.port, c.bin, c.sdkReads, c.sdkReads))
	noRetries := func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }
	through := upstreamtest.Client("http://"+p.addr(), noRetries)
	straight := upstreamtest.Client(proxy.URL(), noRetries)
	for _, client := range []*secretsmanager.Client{through, straight} {
		if _, err := readSeries(ctx, client, 20); err != nil { // warm connections and the cache
			return err
		}
	}
	proxy.ResetCounts()
	if r.sdkThrough, err = readSeries(ctx, through, c.sdkReads); err != nil {
		return fmt.Errorf("through the extension: %w", err)
	}
	r.sdkThrough.upstreamCalls = proxy.Count(opGetSecret)
	proxy.ResetCounts()
	if r.sdkStraight, err = readSeries(ctx, straight, c.sdkReads); err != nil {
		return fmt.Errorf("straight to moto: %w", err)
	}
	r.sdkStraight.upstreamCalls = proxy.Count(opGetSecret)
	logf("sdk: p50 %s through the extension, %s straight to moto; %d and %d upstream calls for %d reads",
		r.sdkThrough.p50, r.sdkStraight.p50, r.sdkThrough.upstreamCalls, r.sdkStraight.upstreamCalls, c.sdkReads)
	return p.stop(ctx)
}

// readSeries makes n reads of the Starfleet secret one after another and
// returns their latency percentiles.
func readSeries(ctx context.Context, client *secretsmanager.Client, n int) (sdkReads, error) {
	latencies := make([]time.Duration, 0, n)
	for i := range n {
		began := time.Now()
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return sdkReads{}, fmt.Errorf("read %d: %w", i, err)
		}
		if aws.ToString(out.Name) != secretID {
			return sdkReads{}, fmt.Errorf("read %d answered %q", i, aws.ToString(out.Name))
		}
		latencies = append(latencies, time.Since(began))
	}
	slices.Sort(latencies)
	return sdkReads{reads: n, p50: latencies[n/2], p99: latencies[min(n-1, n*99/100)]}, nil
}

func (r *report) sdkSection(p printer) {
	if !r.cfg.parts["sdk"] || r.sdkThrough.reads == 0 {
		return
	}
	t, s := r.sdkThrough, r.sdkStraight
	p("## 6. Any SDK through the extension")
	p("")
	p("The AWS SDK for Go v2, unchanged but for its endpoint, reading the Starfleet secret with GetSecretValue %d times one after another: through the extension's SDK protocol (signed with the credentials the extension holds, its signature checked, answered from the cache) and straight to moto (behind the same counting proxy).", t.reads)
	p("")
	p("| | p50 | p99 | upstream calls |")
	p("|---|---|---|---|")
	p("| through the extension | %s | %s | %d |", ms(t.p50), ms(t.p99), t.upstreamCalls)
	p("| straight to moto | %s | %s | %d |", ms(s.p50), ms(s.p99), s.upstreamCalls)
	p("| ratio | %.2fx | %.2fx | %s saved |", ratio(float64(t.p50), float64(s.p50)), ratio(float64(t.p99), float64(s.p99)), strconv.Itoa(s.upstreamCalls-t.upstreamCalls))
	p("")
}
