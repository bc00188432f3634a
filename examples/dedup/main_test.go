package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's go-metrics meters share one process-wide ticker
		// goroutine that cannot be stopped. (riffle's own packages use
		// internal/leakcheck, which an example cannot import.)
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}

// The app, small: plain goka then riffle, both verdicts OK, and the
// comparison printed.
func TestCompare(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"-compare", "-records", "2000", "-sync-records", "1000", "-latency", "1ms", "-workers", "32", "-progress", "100ms"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"plain goka (sync): 1,000 events", "riffle (async): 2,000 events", "verdict: OK", "duplicates dropped", "x plain goka", "both runs: every unique id emitted exactly once"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "FAILED") {
		t.Errorf("a verdict failed:\n%s", s)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-sync", "-compare"}, {"-dup-rate", "1"}, {"-records", "0"}, {"extra"}} {
		if _, err := parse(args, new(strings.Builder)); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
	o, err := parse([]string{"-latency", "2ms", "-records", "150000"}, new(strings.Builder))
	if err != nil || o.syncRecords != 8000 {
		t.Errorf("parse: %+v, %v; want 8,000 sync records (4 s at 4 / 2 ms)", o, err)
	}
}
