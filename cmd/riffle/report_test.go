package main

import (
	"testing"

	"github.com/riffle-streams/riffle/internal/workload"
)

// K of the dedup workload's bound is the fewest unique ids of a run that
// reported any; rows without a count do not lower it.
func TestBoundKeysDedup(t *testing.T) {
	cfg := benchConfig{workload: workloadDedup}
	for _, tc := range []struct {
		keys []int
		want string
	}{
		{[]int{0, 7, 5, 0}, "the run's unique ids (at least 5)"},
		{[]int{9, 0, 12}, "the run's unique ids (at least 9)"},
		{[]int{0, 0}, "the run's unique ids (at least 0)"},
		{nil, "the run's unique ids (at least 0)"},
	} {
		var rows []*row
		for _, k := range tc.keys {
			rows = append(rows, &row{keys: k})
		}
		if got := boundKeys(cfg, rows); got != tc.want {
			t.Errorf("boundKeys(%v) = %q, want %q", tc.keys, got, tc.want)
		}
	}
}

func TestRunList(t *testing.T) {
	rs := []workload.Result{{RPS: 1234.4}, {RPS: 99.6}}
	if got, want := runList(rs), "1234, 100"; got != want {
		t.Errorf("runList = %q, want %q", got, want)
	}
	if got := runList(nil); got != "" {
		t.Errorf("runList(nil) = %q, want empty", got)
	}
}
