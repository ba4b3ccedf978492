package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/starfleet/starfleet-secrets/upstream"
)

// prefetchConcurrency bounds the reads Prefetch makes at once.
const prefetchConcurrency = 4

// Prefetch warms keys, returning once every fetch has settled; the error
// joins what failed. Secrets are read one GetSecretValue each (its quota,
// 10,000 a second, is the generous one), a few at a time. Parameters are
// read in GetParameters calls of up to upstream.MaxBatch names sharing
// WithDecryption, because Parameter Store's throughput quota counts calls
// and is shared by every Get call of the account: a fleet of cold starts
// must not throttle itself. References to Secrets Manager are read one by
// one, as GetParameters does not take them.
func (c *Cache) Prefetch(ctx context.Context, keys []upstream.Key) error {
	var (
		mu    sync.Mutex
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, prefetchConcurrency)
	)
	run := func(read func() error) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := read(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			}
		})
	}
	singles, batches := c.prefetchPlan(keys)
	for _, key := range singles {
		run(func() error {
			if _, err := c.Get(ctx, key, false); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			return nil
		})
	}
	for _, batch := range batches {
		run(func() error { return c.prefetchParameters(batch) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prefetchPlan splits keys into those read one by one and batches of
// parameters read together.
func (c *Cache) prefetchPlan(keys []upstream.Key) (singles []upstream.Key, batches [][]upstream.Key) {
	var byDecryption [2][]upstream.Key
	for _, key := range keys {
		key = key.Normalize()
		switch {
		case !key.IsParameter() || upstream.IsReference(key.Parameter) || c.params == nil:
			singles = append(singles, key)
		case key.WithDecryption:
			byDecryption[1] = append(byDecryption[1], key)
		default:
			byDecryption[0] = append(byDecryption[0], key)
		}
	}
	for _, group := range byDecryption {
		for start := 0; start < len(group); start += upstream.MaxBatch {
			batches = append(batches, group[start:min(start+upstream.MaxBatch, len(group))])
		}
	}
	return singles, batches
}

// prefetchParameters reads keys in one GetParameters call and stores what
// it found, unless a request's own fetch stored something newer meanwhile.
func (c *Cache) prefetchParameters(keys []upstream.Key) error {
	if !c.beginFetch() {
		return errShuttingDown(false)
	}
	defer c.fetches.Done()
	started := c.now()
	var found map[upstream.Key]*upstream.Value
	elapsed, err := c.timed(upstream.ServiceParameterStore, c.parameters.timeout, func(ctx context.Context) (err error) {
		found, err = c.params.GetParameters(ctx, keys)
		return err
	})
	attrs := []any{"parameters", len(keys)}
	if err == nil {
		attrs = append(attrs, "found", len(found))
	}
	c.logFetch(attrs, elapsed, err)
	if err != nil {
		return fmt.Errorf("GetParameters of %d parameters: %w", len(keys), err)
	}
	finished := c.now()
	var missing []string
	for _, key := range keys {
		value, ok := found[key]
		if !ok {
			missing = append(missing, key.Parameter)
			continue
		}
		c.flights.Do(flightKey(key), func() (any, error) {
			if prev := c.load(key); prev == nil || prev.attemptAt.Before(started) {
				c.store(key, newEntry(value, finished, started))
			}
			return nil, nil
		})
	}
	if len(missing) > 0 {
		return fmt.Errorf("no parameter %s in Parameter Store", strings.Join(missing, ", "))
	}
	return nil
}
