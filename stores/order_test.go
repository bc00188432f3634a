package stores_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/stores"
)

// The semantics of the package doc, on the real executor: many keys, each
// record of a key reads its counter and writes counter+1, records of
// different keys run concurrently, and the store adds jitter (and, in one
// case, transient errors that the executor retries).
//
//   - Own key, in order: the n-th record of a key reads n (its
//     predecessor's write), and every key ends at its record count.
//   - Cross key: a record also reads a neighbour key's counter. It sees some
//     value the neighbour had (0 to its final count), unrelated to the
//     record's own position, and successive records of one key never see
//     the neighbour go backwards (both backends are linearizable).
func TestOrderOnExecutor(t *testing.T) {
	const (
		keys       = 48
		perKey     = 25
		partitions = 4
	)
	type backend struct {
		name string
		new  func(t *testing.T) stores.KeyValue[int64]
	}
	backends := []backend{
		{"memory", func(t *testing.T) stores.KeyValue[int64] { return stores.NewMemory[int64]() }},
		{"redis", func(t *testing.T) stores.KeyValue[int64] {
			kv, _ := newRedisKV(t, codec.Int64(), stores.WithKeyPrefix("count:"), stores.WithPoolSize(16))
			return kv
		}},
	}
	modes := []struct {
		name      string
		writeIn   string // "attempt": direct write; "apply": in the task's Apply
		errorRate float64
	}{
		{"direct write", "attempt", 0},
		{"direct write, transient errors retried", "attempt", 0.1},
		{"write in apply", "apply", 0},
	}
	for _, b := range backends {
		for _, m := range modes {
			t.Run(b.name+"/"+m.name, func(t *testing.T) {
				ctx := testCtx(t)
				in := newInjector(t, stores.Faults{Jitter: 200 * time.Microsecond, ErrorRate: m.errorRate, Seed: 5})
				base := b.new(t)
				kv := stores.InjectKeyValue(base, in)
				e, err := asyncdsl.New(
					asyncdsl.WithWorkers(16),
					asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 50, InitialBackoff: 100 * time.Microsecond, MaxBackoff: time.Millisecond, Multiplier: 2, Jitter: 0.2}),
				)
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()

				var (
					mu       sync.Mutex
					own      [keys][]int64 // own[k][n]: what key k's n-th record read of k
					cross    [keys][]int64 // cross[k][n]: what it read of key k+1
					outcomes []asyncdsl.Outcome
				)
				key := func(k int) string { return fmt.Sprint("key-", k) }
				var offsets [partitions]int64
				for range perKey {
					for k := range keys {
						p := int32(k % partitions)
						off := offsets[p]
						offsets[p]++
						err := e.Submit(ctx, asyncdsl.Task{
							Record: asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "events", Partition: p, Offset: off, Key: key(k)}},
							Ctx:    ctx,
							Work: &asyncdsl.WorkFuncs{AttemptFunc: func(actx context.Context, _ int) (asyncdsl.Apply, error) {
								v, _, err := kv.Get(actx, key(k))
								if err != nil {
									return nil, err
								}
								other, _, err := kv.Get(actx, key((k+1)%keys))
								if err != nil {
									return nil, err
								}
								record := func() {
									mu.Lock()
									own[k] = append(own[k], v)
									cross[k] = append(cross[k], other)
									mu.Unlock()
								}
								if m.writeIn == "apply" {
									return func(done func(error)) {
										err := kv.Put(ctx, key(k), v+1)
										if err == nil {
											record()
										}
										done(err)
									}, nil
								}
								if err := kv.Put(actx, key(k), v+1); err != nil {
									return nil, err
								}
								record()
								return nil, nil
							},
								ReleaseFunc: func(o asyncdsl.Outcome) {
									mu.Lock()
									outcomes = append(outcomes, o)
									mu.Unlock()
								},
							},
						})
						if err != nil {
							t.Fatalf("Submit: %v", err)
						}
					}
				}
				if err := e.Drain(ctx); err != nil {
					t.Fatalf("Drain: %v", err)
				}

				mu.Lock()
				defer mu.Unlock()
				if len(outcomes) != keys*perKey {
					t.Fatalf("%d releases, want %d", len(outcomes), keys*perKey)
				}
				for _, o := range outcomes {
					if o.Status != asyncdsl.Done {
						t.Fatalf("outcome %+v", o)
					}
				}
				for k := range keys {
					if got, _, err := base.Get(ctx, key(k)); err != nil || got != perKey {
						t.Errorf("%s ends at %d (%v), want %d", key(k), got, err, perKey)
					}
					for n, v := range own[k] {
						if v != int64(n) {
							t.Fatalf("%s record %d read %d, want its predecessor's %d (reads %v)", key(k), n, v, n, own[k])
						}
					}
					prev := int64(0)
					for n, v := range cross[k] {
						if v < prev || v > perKey {
							t.Fatalf("%s record %d read %s = %d after %d: outside [%d, %d]", key(k), n, key((k+1)%keys), v, prev, prev, perKey)
						}
						prev = v
					}
				}
				if m.errorRate > 0 && in.Stats().Errors == 0 {
					t.Error("no error was injected")
				}
			})
		}
	}
}
