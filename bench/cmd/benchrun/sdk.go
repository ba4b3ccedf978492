package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/bench/internal/report"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// runSDK times the same GetSecretValue by the AWS SDK for Go v2, changed in
// nothing but its endpoint, through the extension (its SDK protocol, signed
// with the credentials the extension holds) and straight to moto, one read
// after another, and counts what reached moto.
func runSDK(ctx context.Context, c report.Config, env *emulator, r *report.Report) error {
	p, proxy, err := startBehindProxy(ctx, c, env, "300s")
	if err != nil {
		return err
	}
	defer proxy.Close()
	defer p.Kill()
	r.Command(fmt.Sprintf("STARFLEET_SECRETS_PORT=%d AWS_ENDPOINT_URL_SECRETS_MANAGER=<upstreamtest.Proxy> %s  # under extensiontest; %d GetSecretValue by aws-sdk-go-v2 through it, and %d straight to the proxy",
		p.Port, c.Bin, c.SDKReads, c.SDKReads))
	noRetries := func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }
	through := upstreamtest.Client("http://"+p.Addr(), noRetries)
	straight := upstreamtest.Client(proxy.URL(), noRetries)
	for _, client := range []*secretsmanager.Client{through, straight} {
		if _, err := readSeries(ctx, client, 20); err != nil { // warm connections and the cache
			return err
		}
	}
	proxy.ResetCounts()
	if r.SDKThrough, err = readSeries(ctx, through, c.SDKReads); err != nil {
		return fmt.Errorf("through the extension: %w", err)
	}
	r.SDKThrough.UpstreamCalls = proxy.Count(opGetSecret)
	proxy.ResetCounts()
	if r.SDKStraight, err = readSeries(ctx, straight, c.SDKReads); err != nil {
		return fmt.Errorf("straight to moto: %w", err)
	}
	r.SDKStraight.UpstreamCalls = proxy.Count(opGetSecret)
	logf("sdk: p50 %s through the extension, %s straight to moto; %d and %d upstream calls for %d reads",
		r.SDKThrough.P50, r.SDKStraight.P50, r.SDKThrough.UpstreamCalls, r.SDKStraight.UpstreamCalls, c.SDKReads)
	return p.Stop(ctx)
}

// readSeries makes n reads of the Starfleet secret one after another and
// returns their latency percentiles.
func readSeries(ctx context.Context, client *secretsmanager.Client, n int) (report.SDKReads, error) {
	latencies := make([]time.Duration, 0, n)
	for i := range n {
		began := time.Now()
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return report.SDKReads{}, fmt.Errorf("read %d: %w", i, err)
		}
		if aws.ToString(out.Name) != secretID {
			return report.SDKReads{}, fmt.Errorf("read %d answered %q", i, aws.ToString(out.Name))
		}
		latencies = append(latencies, time.Since(began))
	}
	slices.Sort(latencies)
	return report.SDKReads{Reads: n, P50: latencies[n/2], P99: latencies[min(n-1, n*99/100)]}, nil
}
