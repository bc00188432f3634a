package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/redistest"
	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/riffle-streams/riffle/kafka"
)

// A small dedup run, sync and async, with 1 ms injected into the window
// store: every unique id is emitted exactly once.
func TestDedupRunEmitsEveryUniqueIDOnce(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	for _, mode := range []workload.Mode{workload.Sync, workload.Async} {
		t.Run(mode.String(), func(t *testing.T) {
			runDedupAndCheck(t, c.Settings(), mode, newDedupRun(1500, 0.25, 1, dedup.WindowConfig{Window: dedup.DefaultWindow}))
		})
	}
}

// The same against a real Redis (RedisWindow), async.
func TestDedupRunWithRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := clustertest.Start(t, broker.WithPartitions(4))
	runDedupAndCheck(t, c.Settings(), workload.Async,
		newDedupRun(1500, 0.25, 2, dedup.WindowConfig{Window: dedup.DefaultWindow, Redis: srv.Addr, PoolSize: 64}))
}

func runDedupAndCheck(t *testing.T, s kafka.Settings, mode workload.Mode, d *dedupRun) {
	t.Helper()
	t.Cleanup(func() {
		if err := d.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if d.err() == nil {
		t.Errorf("err is nil before the run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := workload.Run(ctx, workload.Config{
		Settings: s,
		Mode:     mode,
		Latency:  time.Millisecond,
		Records:  d.events.Len(),
		Task:     d.task(),
		Workers:  64,
		Name:     "dedup-test",
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	v, ok := d.verdict()
	if !ok {
		t.Fatal("no verdict")
	}
	ev := d.events
	if !v.OK() || v.Unique != ev.Unique() || v.Dropped() != ev.Duplicates() || ev.Duplicates() == 0 {
		t.Errorf("verdict %s (events: %d unique, %d duplicates)", v, ev.Unique(), ev.Duplicates())
	}
	if err := d.err(); err != nil {
		t.Errorf("err: %v", err)
	}
	if got := d.counts.Dropped(); got != int64(ev.Duplicates()) {
		t.Errorf("callback dropped %d, want %d", got, ev.Duplicates())
	}
	t.Logf("%s: %s; %.0f events/s", mode, v, res.RPS)
}

// A run whose output was not checked, or whose verdict failed, is an error
// wrapping dedup.ErrVerdict.
func TestDedupRunErrWrapsErrVerdict(t *testing.T) {
	d := newDedupRun(10, 0.2, 1, dedup.WindowConfig{Window: time.Minute})
	if err := d.err(); !errors.Is(err, dedup.ErrVerdict) {
		t.Errorf("unchecked: %v", err)
	}
	d.mu.verdict, d.mu.checked = dedup.Verdict{Inputs: 10, Unique: 8, Outputs: 9, Distinct: 8, Repeated: 1}, true
	if err := d.err(); !errors.Is(err, dedup.ErrVerdict) {
		t.Errorf("failed verdict: %v", err)
	}
}
