package main

import (
	"context"
	"testing"
	"time"
)

// A wait never takes less than its latency, and the rate cannot beat P/L.
func TestTimerCeilingIsBelowPOverL(t *testing.T) {
	const p, l = 8, 2 * time.Millisecond
	rps, mean := timerCeiling(context.Background(), p, l, 200*time.Millisecond)
	if mean < l {
		t.Errorf("mean wait %v, below the latency %v", mean, l)
	}
	if bound := p / l.Seconds(); rps <= 0 || rps > bound {
		t.Errorf("%.0f waits/s, want within (0, P/L = %.0f]", rps, bound)
	}
}

// A cancelled context ends the measurement at once.
func TestTimerCeilingStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	timerCeiling(ctx, 8, time.Hour, time.Hour)
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("took %v after the context was cancelled", took)
	}
}
