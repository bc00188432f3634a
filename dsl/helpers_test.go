package dsl_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/dsl"
)

// Order is the test payload.
type Order struct {
	ID       string   `json:"id"`
	Customer string   `json:"customer"`
	Amount   int64    `json:"amount"`
	Items    []string `json:"items,omitempty"`
}

// startOnTester builds b and runs it on a new goka tester; the run stops at
// the end of the test.
func startOnTester(t *testing.T, b *dsl.Builder) (*tester.Tester, *dsl.Topology) {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	tt := tester.New(t)
	r, err := topo.Start(context.Background(), dsl.OnTester(tt))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- r.Stop() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("topology did not stop within 30s")
		}
	})
	return tt, topo
}

// drain returns "key=value" of every record the tracker has not returned yet.
func drain(qt *tester.QueueTracker) []string {
	var out []string
	for {
		k, v, ok := qt.Next()
		if !ok {
			return out
		}
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func tableValue(tt *tester.Tester, table, key string) any {
	return tt.TableValue(goka.Table(table), key)
}
