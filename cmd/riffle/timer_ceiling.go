package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// timerCeilingRun is how long timerCeiling measures, per latency.
const timerCeilingRun = 2 * time.Second

// timerCeiling measures what the Go runtime itself allows at latency l with
// p goroutines: each waits l on a timer, as the benchmark's callback does
// for its "remote call", and again at once, over and over, for d. It
// returns the waits completed per second and their mean duration.
//
// Why: the bound P/L assumes that a wait of L takes L. A Go timer fires late
// when the process is partly idle, because an idle P sleeps in epoll_wait,
// whose timeout is whole milliseconds (runtime/netpoll_epoll.go: a delay
// under 1 ms sleeps 1 ms, longer ones are truncated). With many goroutines
// on few cores a 2 ms wait takes noticeably longer than 2 ms, so a program
// that waits on timers cannot reach P/L there (docs/benchmarks.md, "What is
// measured", has the figures). This ceiling separates that from riffle's
// own cost. A real remote call wakes its goroutine through the
// network poller, on an event, not through a timer; it is not late in this
// way.
//
// The goroutines do nothing else, so this is an upper bound for any
// callback that makes the timer wait.
func timerCeiling(ctx context.Context, p int, l, d time.Duration) (rps float64, mean time.Duration) {
	var (
		waits, total atomic.Int64
		wg           sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(d)
	for range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(l)
			defer t.Stop()
			for {
				began := time.Now()
				if !began.Before(stop) {
					return
				}
				t.Reset(l)
				select {
				case <-t.C:
				case <-ctx.Done():
					return
				}
				waits.Add(1)
				total.Add(int64(time.Since(began)))
			}
		}()
	}
	wg.Wait()
	n := waits.Load()
	if n == 0 {
		return 0, 0
	}
	return float64(n) / time.Since(start).Seconds(), time.Duration(total.Load() / n)
}
