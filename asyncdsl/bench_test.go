package asyncdsl

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
)

// BenchmarkSubmitRelease measures the executor alone: trivial attempts,
// submitted by one goroutine per partition (as goka does), until every
// task is released. One op is one task; B/op and allocs/op are per task and
// include everything the executor allocates for it.
func BenchmarkSubmitRelease(b *testing.B) {
	apply := func(done func(error)) { done(nil) }
	withApply := func(context.Context, int) (Apply, error) { return apply, nil }
	cases := []struct {
		name    string
		attempt func(context.Context, int) (Apply, error)
		opts    []Option
	}{
		{"no-effects", ok, nil},
		{"apply", withApply, nil},
		{"apply/no-call-timeout", withApply, []Option{WithCallTimeout(0)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			benchSubmitRelease(b, 4, 1024, c.attempt, c.opts...)
		})
	}
}

func benchSubmitRelease(b *testing.B, partitions, keys int, attempt func(context.Context, int) (Apply, error), opts ...Option) {
	e, err := New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	keyNames := make([]string, keys)
	for i := range keyNames {
		keyNames[i] = fmt.Sprintf("key-%d", i)
	}
	var releasedN atomic.Int64
	release := func(Outcome) { releasedN.Add(1) }
	ctx := context.Background()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range partitions {
		n := b.N / partitions
		if p < b.N%partitions {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				err := e.Submit(ctx, Task{
					Record: Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: int32(p), Offset: int64(i), Key: keyNames[(i*7+p)%keys]}},
					Ctx:    ctx,
					Work: &WorkFuncs{AttemptFunc: attempt,
						ReleaseFunc: release,
					},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := e.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := releasedN.Load(); got != int64(b.N) {
		b.Fatalf("released %d of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
}

// BenchmarkQueuedMemory measures the heap held per queued task: tasks are
// submitted while every attempt is blocked, so all of them stay queued. With
// distinct keys every task also holds a lane of its own.
func BenchmarkQueuedMemory(b *testing.B) {
	const queued = 20000
	for _, keys := range []int{queued, 100} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			for range b.N {
				benchQueuedMemory(b, queued, keys)
			}
		})
	}
}

func benchQueuedMemory(b *testing.B, queued, keys int) {
	e, err := New(WithWorkers(1), WithMaxPending(queued+1), WithMaxPendingPerPartition(queued+1), WithMaxQueuedPerKey(queued+1))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	hold := make(chan struct{})
	defer close(hold)
	ctx := context.Background()
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("key-%d", i)
	}
	release := func(Outcome) {}
	block := func(context.Context, int) (Apply, error) { <-hold; return nil, nil }
	var before, after runtimeMem
	before.read()
	for i := range queued {
		if err := e.Submit(ctx, Task{Record: Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: 0, Offset: int64(i), Key: names[i%keys]}},
			Ctx: ctx, Work: &WorkFuncs{AttemptFunc: block, ReleaseFunc: release}}); err != nil {
			b.Fatal(err)
		}
	}
	after.read()
	b.ReportMetric(float64(after.heap-before.heap)/float64(queued), "heap-B/queued-task")
}

// runtimeMem reads the live heap after a collection.
type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.heap = s.HeapAlloc
}
