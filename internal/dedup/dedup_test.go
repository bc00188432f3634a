package dedup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/dedup"
	"github.com/riffle-streams/riffle/internal/redistest"
	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/riffle-streams/riffle/kafka"
)

func TestEventsAreReproducible(t *testing.T) {
	a := dedup.NewEvents(10_000, 0.3, 100, 7)
	b := dedup.NewEvents(10_000, 0.3, 100, 7)
	for i := range a.Len() {
		if a.ID(i) != b.ID(i) {
			t.Fatalf("record %d: %s vs %s", i, a.ID(i), b.ID(i))
		}
	}
	if a.Unique()+a.Duplicates() != 10_000 {
		t.Fatalf("unique %d + duplicates %d != 10000", a.Unique(), a.Duplicates())
	}
	// 30% duplicates, give or take.
	if d := a.Duplicates(); d < 2700 || d > 3300 {
		t.Errorf("duplicates %d, want about 3000", d)
	}
	if n := dedup.NewEvents(1000, 0, 100, 1).Unique(); n != 1000 {
		t.Errorf("dup rate 0: %d unique of 1000", n)
	}
}

// A small dedup run, sync and async, with 1 ms injected into the window
// store: every unique id is emitted exactly once.
func TestRunEmitsEveryUniqueIDOnce(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	for _, mode := range []workload.Mode{workload.Sync, workload.Async} {
		t.Run(mode.String(), func(t *testing.T) {
			runAndCheck(t, c.Settings(), mode, dedup.Config{Records: 1500, DupRate: 0.25, Seed: 1})
		})
	}
}

// The same against a real Redis (RedisWindow), async.
func TestRunWithRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := clustertest.Start(t, broker.WithPartitions(4))
	runAndCheck(t, c.Settings(), workload.Async, dedup.Config{Records: 1500, DupRate: 0.25, Seed: 2, Redis: srv.Addr})
}

func runAndCheck(t *testing.T, s kafka.Settings, mode workload.Mode, cfg dedup.Config) {
	t.Helper()
	w, err := dedup.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if w.Err() == nil {
		t.Errorf("Err is nil before the run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := workload.Run(ctx, workload.Config{
		Settings: s,
		Mode:     mode,
		Latency:  time.Millisecond,
		Records:  cfg.Records,
		Task:     w.Task(),
		Workers:  64,
		Name:     "dedup-test",
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	v, ok := w.Verdict()
	if !ok {
		t.Fatal("no verdict")
	}
	ev := w.Events()
	if !v.OK() || v.Unique != ev.Unique() || v.Dropped() != ev.Duplicates() || ev.Duplicates() == 0 {
		t.Errorf("verdict %s (events: %d unique, %d duplicates)", v, ev.Unique(), ev.Duplicates())
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	if err := w.Err(); err != nil && !errors.Is(err, dedup.ErrVerdict) {
		t.Errorf("Err does not wrap ErrVerdict: %v", err)
	}
	if got := w.Dropped(); got != int64(ev.Duplicates()) {
		t.Errorf("callback dropped %d, want %d", got, ev.Duplicates())
	}
	t.Logf("%s: %s; %.0f events/s", mode, v, res.RPS)
}

func TestVerdictFailsOnRepeats(t *testing.T) {
	v := dedup.Verdict{Inputs: 10, Unique: 8, Outputs: 9, Distinct: 8, Repeated: 1}
	if v.OK() {
		t.Errorf("%s is OK", v)
	}
}
