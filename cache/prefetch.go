package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/starfleet/starfleet-secrets/item"
)

// prefetchConcurrency bounds the reads Prefetch makes at once.
const prefetchConcurrency = 4

// Prefetch warms keys, returning once every fetch has settled; the error
// joins what failed. Secrets are read one GetSecretValue each (its quota,
// 10,000 a second, is the generous one), a few at a time. Parameters are
// read in GetParameters calls of up to item.MaxBatch names sharing
// WithDecryption, because Parameter Store's throughput quota counts calls
// and is shared by every Get call of the account: a fleet of cold starts
// must not throttle itself. References to Secrets Manager are read one by
// one, as GetParameters does not take them.
func (c *Cache) Prefetch(ctx context.Context, keys []item.Key) error {
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
	singles, secretBatches := c.sliceBatches(singles)
	for _, batch := range secretBatches {
		run(func() error { return c.prefetchSlices(ctx, batch) })
	}
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
func (c *Cache) prefetchPlan(keys []item.Key) (singles []item.Key, batches [][]item.ParameterKey) {
	var byDecryption [2][]item.ParameterKey
	for _, key := range keys {
		key = item.Normalize(key)
		p, ok := key.(item.ParameterKey)
		switch {
		case !ok || item.IsReference(p.Name) || c.params == nil:
			singles = append(singles, key)
		case p.WithDecryption:
			byDecryption[1] = append(byDecryption[1], p)
		default:
			byDecryption[0] = append(byDecryption[0], p)
		}
	}
	for _, group := range byDecryption {
		batches = slices.AppendSeq(batches, slices.Chunk(group, item.MaxBatch))
	}
	return singles, batches
}

// sliceBatches takes the split layout's slice keys out of keys, in
// batches for one BatchGetSecretValue each, where the source reads batches.
func (c *Cache) sliceBatches(keys []item.Key) (rest []item.Key, batches [][]item.SecretKey) {
	if _, ok := c.src.(BatchSource); !ok {
		return keys, nil
	}
	var sliceKeys []item.SecretKey
	for _, key := range keys {
		if _, ok := c.layout.sliceOf(key); ok {
			sliceKeys = append(sliceKeys, key.(item.SecretKey))
		} else {
			rest = append(rest, key)
		}
	}
	return rest, slices.Collect(slices.Chunk(sliceKeys, item.MaxSecretBatch))
}

// prefetchSlices reads the slices' secrets of keys in one
// BatchGetSecretValue and stores each answer, unless a request's own fetch
// stored something newer meanwhile; what the call did not answer, or all
// of it if the call failed, is read one by one.
func (c *Cache) prefetchSlices(ctx context.Context, keys []item.SecretKey) error {
	if !c.beginFetch() {
		return errShuttingDown(false)
	}
	started, writes := c.now(), c.writes.Load()
	var found map[item.SecretKey]*item.Value
	var failed map[item.SecretKey]*item.Error
	elapsed, err := c.timed(item.ServiceSecretsManager, c.secrets.FetchTimeout, func(ctx context.Context) (err error) {
		found, failed, err = c.src.(BatchSource).BatchGetSecretValue(ctx, keys)
		return err
	})
	attrs := []any{"secrets", len(keys)}
	if err == nil {
		attrs = append(attrs, "found", len(found))
	}
	c.logFetch(attrs, elapsed, err)
	var unread []item.Key
	var errs []error
	for _, key := range keys {
		value, ok := found[key]
		ferr := failed[key]
		switch {
		case err != nil || c.writes.Load() != writes || !ok && ferr == nil:
			unread = append(unread, key)
			continue
		case ok:
			ferr = nil
		default:
			errs = append(errs, fmt.Errorf("%s: %w", key, ferr))
		}
		c.flights.Do(c.flightKey(key), func() (any, error) {
			if prev := c.load(key); prev == nil || prev.attemptAt.Before(started) {
				c.store(key, c.settle(key, prev, value, ferr, started))
				if ferr == nil {
					c.noteLoaded(key)
				}
			}
			return nil, nil
		})
	}
	c.fetches.Done()
	for _, key := range unread {
		if _, err := c.Get(ctx, key, false); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// prefetchParameters reads keys in one GetParameters call and stores what
// it found, unless a request's own fetch stored something newer meanwhile.
func (c *Cache) prefetchParameters(keys []item.ParameterKey) error {
	found, err := c.readBatch(keys)
	if err != nil {
		return fmt.Errorf("GetParameters of %d parameters: %w", len(keys), err)
	}
	var missing []string
	for _, key := range keys {
		if _, ok := found[key]; !ok {
			missing = append(missing, key.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no parameter %s in Parameter Store", strings.Join(missing, ", "))
	}
	return nil
}

// readBatch reads keys in one GetParameters call and stores each answer
// (a value, or ParameterNotFound for a name the service does not have),
// unless a request's own fetch of that key stored something newer
// meanwhile. Its error is the call's, which stores nothing.
func (c *Cache) readBatch(keys []item.ParameterKey) (map[item.ParameterKey]*item.Value, *item.Error) {
	if !c.beginFetch() {
		return nil, errShuttingDown(false)
	}
	defer c.fetches.Done()
	started := c.now()
	writes := c.writes.Load()
	var found map[item.ParameterKey]*item.Value
	elapsed, err := c.timed(item.ServiceParameterStore, c.parameters.FetchTimeout, func(ctx context.Context) (err error) {
		found, err = c.params.GetParameters(ctx, keys)
		return err
	})
	attrs := []any{"parameters", len(keys)}
	if err == nil {
		attrs = append(attrs, "found", len(found))
	}
	c.logFetch(attrs, elapsed, err)
	if err != nil || c.writes.Load() != writes {
		return found, err
	}
	finished := c.now()
	for _, key := range keys {
		c.flights.Do(c.flightKey(key), func() (any, error) {
			prev := c.load(key)
			if prev != nil && !prev.attemptAt.Before(started) {
				return nil, nil
			}
			if value, ok := found[key]; ok {
				c.store(key, newEntry(value, finished, started))
			} else {
				c.store(key, c.parameters.Policy.afterFailure(prev, notFound(key), started))
			}
			return nil, nil
		})
	}
	return found, nil
}

// notFound is Parameter Store's answer for a parameter it does not have.
func notFound(key item.ParameterKey) *item.Error {
	return &item.Error{Code: "ParameterNotFound", Service: item.ServiceParameterStore, Status: 400,
		Err: errors.New("Parameter " + key.Name + " not found.")}
}

// GetParameters answers keys, parameters sharing WithDecryption and none a
// reference to Secrets Manager, as Parameter Store's GetParameters would,
// under the rules Get follows for each: what the cache holds is served,
// and what it lacks is read in one GetParameters call, since Parameter
// Store's quota counts calls. Each key gets a result or an error, a
// missing parameter ParameterNotFound.
func (c *Cache) GetParameters(ctx context.Context, keys []item.ParameterKey) ([]Result, []error) {
	results, errs := make([]Result, len(keys)), make([]error, len(keys))
	var misses []int
	now := c.now()
	for i, key := range keys {
		e := c.load(key)
		switch c.parameters.Policy.Decide(e, now, false) {
		case ServeFresh, ServeStale, ServeStaleAndRefresh, FailFast:
			// Get answers these from memory, and starts what refresh it
			// calls for.
			results[i], errs[i] = c.Get(ctx, key, false)
		default:
			misses = append(misses, i)
		}
	}
	if len(misses) == 0 {
		return results, errs
	}
	batch := make([]item.ParameterKey, len(misses))
	flight := "batch"
	for j, i := range misses {
		batch[j] = keys[i]
		flight += "\x00" + c.flightKey(keys[i])
	}
	var err error
	select {
	case r := <-c.flights.DoChan(flight, func() (any, error) { _, err := c.readBatch(batch); return err, nil }):
		if e, _ := r.Val.(*item.Error); e != nil {
			err = e
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	for _, i := range misses {
		if err != nil {
			results[i], errs[i] = c.afterBatchFailure(keys[i], err)
			continue
		}
		if e := c.load(keys[i]); e != nil {
			results[i], errs[i] = c.countAnswer(c.answer(keys[i], e))
		} else {
			// A write made what the batch read stale before it was stored.
			results[i], errs[i] = c.Get(ctx, keys[i], false)
		}
	}
	return results, errs
}

// afterBatchFailure answers key when the batch that was to read it failed
// with err: the cached value while it is servable and err transient, as
// Get would, else err.
func (c *Cache) afterBatchFailure(key item.Key, err error) (Result, error) {
	var uerr *item.Error
	e := c.load(key)
	if errors.As(err, &uerr) && uerr.Transient && e != nil && e.value != nil && c.parameters.Policy.Servable(e.fetchedAt, c.now()) {
		c.metrics.Stale()
		res := e.staleResult()
		res.StaleCause = uerr
		return res, nil
	}
	return Result{}, err
}
