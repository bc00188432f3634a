package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
	"github.com/riffle-streams/riffle/internal/workload"
)

// dedupRun is one run of the windowed-dedup reference workload (-workload
// dedup) as a workload.Task: examples/dedup's events, its callback against a
// window store behind the run's latency, and the check of its output, whose
// verdict it keeps. Use a new one per run.
type dedupRun struct {
	events *dedup.Events
	window dedup.WindowConfig // Latency and KeyPrefix are the run's
	counts dedup.Counts
	mu     struct {
		sync.Mutex
		closeWindow func() error
		verdict     dedup.Verdict
		checked     bool
	}
}

// newDedupRun draws the events of a run of records records, a fraction
// dupRate of them duplicates, reproducibly from seed. window says which
// store the callback asks.
func newDedupRun(records int, dupRate float64, seed uint64, window dedup.WindowConfig) *dedupRun {
	window.Seed = seed
	return &dedupRun{
		events: dedup.NewEvents(records, dupRate, dedup.DefaultRecentIDs, seed),
		window: window,
	}
}

// task is the run's workload.Task: pass it as workload.Config.Task, with
// Config.Records equal to the run's.
func (d *dedupRun) task() *workload.Task {
	return &workload.Task{
		Record: func(i int) ([]byte, []byte) {
			id := []byte(d.events.ID(i))
			return id, id
		},
		Outputs: d.events.Unique(),
		Callback: func(r workload.RunInfo) (goka.ProcessCallback, error) {
			cfg := d.window
			cfg.Latency = r.Latency
			cfg.KeyPrefix = "riffle-dedup:" + r.Name + ":"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			win, closeWindow, err := dedup.OpenWindow(ctx, cfg)
			if err != nil {
				return nil, err
			}
			d.mu.Lock()
			d.mu.closeWindow = closeWindow
			d.mu.Unlock()
			return dedup.Callback(win, r.Output, &d.counts), nil
		},
		Check: func(ctx context.Context, r workload.RunInfo) error {
			v, err := dedup.Verify(ctx, r.Settings, string(r.Output), d.events)
			if err != nil {
				return err
			}
			d.mu.Lock()
			d.mu.verdict, d.mu.checked = v, true
			d.mu.Unlock()
			return nil
		},
	}
}

// verdict is the result of the check after the run, and whether there was
// one (workload.Run checks only after a successful run).
func (d *dedupRun) verdict() (dedup.Verdict, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.verdict, d.mu.checked
}

// err is nil if the run was checked and its verdict is OK, else an error
// wrapping dedup.ErrVerdict.
func (d *dedupRun) err() error {
	v, ok := d.verdict()
	switch {
	case !ok:
		return fmt.Errorf("%w: the output was not checked", dedup.ErrVerdict)
	case !v.OK():
		return fmt.Errorf("%w: %s", dedup.ErrVerdict, v)
	}
	return nil
}

// close closes the run's window store (the Redis client).
func (d *dedupRun) close() error {
	d.mu.Lock()
	closeWindow := d.mu.closeWindow
	d.mu.closeWindow = nil
	d.mu.Unlock()
	if closeWindow == nil {
		return nil
	}
	return closeWindow()
}
