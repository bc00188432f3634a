package dedup_test

import (
	"context"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
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

// everSeen is a window that never forgets: goka's tester gives every
// record the zero timestamp, which a real window holds as long expired.
type everSeen map[string]bool

func (w everSeen) SeenOrAdd(_ context.Context, id string, _ time.Time) (bool, error) {
	seen := w[id]
	w[id] = true
	return seen, nil
}

// The callback emits an id the first time and drops it when it is seen
// again, and counts both.
func TestCallbackEmitsFirstDropsRepeats(t *testing.T) {
	win := everSeen{}
	counts := new(dedup.Counts)
	tt := tester.New(t)
	p, err := goka.NewProcessor(nil, goka.DefineGroup("dedup",
		goka.Input("in", new(codec.Bytes), dedup.Callback(win, "out", counts)),
		goka.Output("out", new(codec.Bytes)),
	), goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	out := tt.NewQueueTracker("out")
	for _, id := range []string{"a", "b", "a", "c", "b"} {
		tt.Consume("in", id, []byte(id))
	}
	var got []string
	for {
		k, _, ok := out.Next()
		if !ok {
			break
		}
		got = append(got, k)
	}
	if want := []string{"a", "b", "c"}; len(got) != len(want) || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("emitted %q, want %q", got, want)
	}
	if counts.Emitted() != 3 || counts.Dropped() != 2 || counts.Running() != 0 {
		t.Errorf("counts: emitted %d, dropped %d, running %d; want 3, 2, 0", counts.Emitted(), counts.Dropped(), counts.Running())
	}
}

func TestVerdictFailsOnRepeats(t *testing.T) {
	v := dedup.Verdict{Inputs: 10, Unique: 8, Outputs: 9, Distinct: 8, Repeated: 1}
	if v.OK() {
		t.Errorf("%s is OK", v)
	}
	ok := dedup.Verdict{Inputs: 10, Unique: 8, Outputs: 8, Distinct: 8}
	if !ok.OK() || ok.Dropped() != 2 {
		t.Errorf("%s: OK %t, dropped %d", ok, ok.OK(), ok.Dropped())
	}
}
