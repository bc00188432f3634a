package asyncdsl

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
)

// TestPerKeyOrder runs thousands of tasks over hundreds of keys and several
// partitions, two co-partitioned topics each, with random latencies, and
// checks that every task sees the state its lane predecessor applied, that
// effects are applied in per-key order, and that releases follow submission
// order per assignment.
func TestPerKeyOrder(t *testing.T) {
	const (
		partitions = 4
		keys       = 200
		perPart    = 1500
	)
	e := newExecutor(t, WithWorkers(32), WithMaxQueuedPerKey(8), WithMaxPendingPerPartition(256))
	rc := newRecorder()

	type laneID struct {
		p int32
		k string
	}
	var (
		mu      sync.Mutex
		state   = make(map[laneID]int)   // last applied sequence per lane
		applied = make(map[laneID][]int) // applied sequences per lane
	)
	var violations atomic.Int64

	var wg sync.WaitGroup
	for p := range int32(partitions) {
		wg.Add(1)
		go func() { // one submitting goroutine per partition, as goka has
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rng := rand.New(rand.NewPCG(uint64(p), 1))
			seqs := make(map[string]int)
			offsets := map[string]int64{}
			for range perPart {
				topic := []string{"a", "b"}[rng.IntN(2)] // co-partitioned topics share lanes
				key := fmt.Sprintf("k%d", rng.IntN(keys))
				seqs[key]++
				seq := seqs[key]
				id := laneID{p, key}
				r := Record{Coordinates: riffle.Coordinates{Topic: topic, Partition: p, Offset: offsets[topic], Key: key}}
				offsets[topic]++
				latency := time.Duration(rng.IntN(200)) * time.Microsecond
				asyncDone := rng.IntN(2) == 0
				err := e.Submit(context.Background(), Task{
					Record: r,
					Ctx:    ctx,
					Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
						mu.Lock()
						prev := state[id]
						mu.Unlock()
						if prev != seq-1 {
							violations.Add(1)
						}
						time.Sleep(latency) // simulated remote call
						return func(done func(error)) {
							mu.Lock()
							state[id] = seq
							applied[id] = append(applied[id], seq)
							mu.Unlock()
							if asyncDone {
								go done(nil)
							} else {
								done(nil)
							}
						}, nil
					},
						ReleaseFunc: rc.release(r),
					},
				})
				if err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
			}
			// Keep the assignment alive until everything is released.
			ctx2, cancel2 := context.WithTimeout(context.Background(), testTimeout)
			defer cancel2()
			if err := e.Drain(ctx2); err != nil {
				t.Errorf("Drain: %v", err)
			}
		}()
	}
	wg.Wait()

	if n := violations.Load(); n != 0 {
		t.Errorf("%d attempts did not see their predecessor's state", n)
	}
	for id, seqs := range applied {
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("lane %v applied out of order: %v", id, seqs)
			}
		}
	}
	got := rc.snapshot()
	if len(got) != partitions*perPart {
		t.Fatalf("released %d tasks, want %d", len(got), partitions*perPart)
	}
	next := make(map[tpKey]int64)
	for _, r := range got {
		tp := tpKey{r.Topic, r.Partition}
		if r.Offset != next[tp] {
			t.Fatalf("%s/%d released offset %d, want %d", r.Topic, r.Partition, r.Offset, next[tp])
		}
		next[tp]++
		if r.Status != Done {
			t.Fatalf("%+v released %s", r.Record, r.Status)
		}
	}
	rc.checkOnce(t)
}

// TestConcurrencyAcrossKeys checks that Workers attempts run at once, never
// more, and never two of one lane.
func TestConcurrencyAcrossKeys(t *testing.T) {
	const workers = 4
	e := newExecutor(t, WithWorkers(workers))
	rc := newRecorder()
	var (
		running, peak atomic.Int64
		mu            sync.Mutex
		perLane       = make(map[string]int)
		laneOverlap   atomic.Bool
	)
	arrived := make(chan struct{}, 64)
	gate := make(chan struct{})
	const tasks = 32
	for i := range tasks {
		key := fmt.Sprintf("k%d", i) // one lane per task, and a hot lane
		if i%2 == 0 {
			key = "hot"
		}
		r := rec(0, int64(i), key)
		submit(t, e, Task{
			Record: r,
			Ctx:    context.Background(),
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				mu.Lock()
				perLane[key]++
				if perLane[key] > 1 {
					laneOverlap.Store(true)
				}
				mu.Unlock()
				arrived <- struct{}{}
				<-gate
				time.Sleep(100 * time.Microsecond) // slow work
				mu.Lock()
				perLane[key]--
				mu.Unlock()
				running.Add(-1)
				return nil, nil
			},
				ReleaseFunc: rc.release(r),
			},
		})
	}
	// The first Workers attempts arrive while gate is closed: all workers
	// are busy at once.
	for range workers {
		recv(t, arrived, "an attempt to start")
	}
	if got := e.Stats().Running; got != workers {
		t.Errorf("Stats().Running = %d, want %d", got, workers)
	}
	select {
	case <-arrived:
		t.Fatalf("more than %d attempts started at once", workers)
	default:
	}
	close(gate) // arrived has room for every remaining attempt
	drain(t, e)
	if p := peak.Load(); p != workers {
		t.Errorf("peak concurrency %d, want %d", p, workers)
	}
	if laneOverlap.Load() {
		t.Error("two tasks of one lane ran at once")
	}
	if got := len(rc.snapshot()); got != tasks {
		t.Errorf("released %d, want %d", got, tasks)
	}
}

// TestReadyTasksNeverWaitForBusyWorkers: however workers were woken before,
// ready tasks never wait while a worker idles. After a stretch of fast tasks
// (which one worker can take one after the other), tasks of distinct keys
// that each block until all of them run must all get a worker, and so must
// a task submitted while every running worker is blocked.
func TestReadyTasksNeverWaitForBusyWorkers(t *testing.T) {
	e := newExecutor(t, WithWorkers(16))
	for i := range 2000 {
		submit(t, e, Task{Record: rec(0, int64(i), fmt.Sprintf("fast%d", i%50)), Ctx: context.Background(),
			Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: func(Outcome) {}}})
	}
	drain(t, e)

	const together = 8
	var started sync.WaitGroup
	started.Add(together)
	allRunning := make(chan struct{})
	go func() { started.Wait(); close(allRunning) }()
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // on failure too, so that Close does not wait forever
	for i := range together {
		submit(t, e, Task{Record: rec(0, int64(2000+i), fmt.Sprintf("slow%d", i)), Ctx: context.Background(),
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
				started.Done()
				<-release
				return nil, nil
			}, ReleaseFunc: func(Outcome) {}}})
	}
	recv(t, allRunning, fmt.Sprintf("%d tasks of distinct keys to run at once", together))

	late := make(chan struct{})
	submit(t, e, Task{Record: rec(0, 3000, "late"), Ctx: context.Background(),
		Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { close(late); return nil, nil },
			ReleaseFunc: func(Outcome) {}}})
	recv(t, late, "a task submitted while every running worker is blocked")
	unblock()
	drain(t, e)
}
