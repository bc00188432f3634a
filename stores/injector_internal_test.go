package stores

import (
	"testing"
	"time"
)

// The drawn delays lie in [Latency, Latency+Jitter), spread over it, and
// repeat for a seed; fault shares match the rates.
func TestInjectorDraws(t *testing.T) {
	f := Faults{Latency: time.Millisecond, Jitter: time.Millisecond, ErrorRate: 0.1, TimeoutRate: 0.2, Seed: 9}
	a, err := NewInjector(f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewInjector(f)
	const n = 10000
	var counts [3]int
	var low, high int
	for i := range n {
		da, fa := a.draw()
		db, fb := b.draw()
		if da != db || fa != fb {
			t.Fatalf("draw %d differs for one seed: %v/%v vs %v/%v", i, da, fa, db, fb)
		}
		if da < f.Latency || da >= f.Latency+f.Jitter {
			t.Fatalf("delay %v outside [%v, %v)", da, f.Latency, f.Latency+f.Jitter)
		}
		if da < f.Latency+f.Jitter/2 {
			low++
		} else {
			high++
		}
		counts[fa]++
	}
	if low < n*45/100 || high < n*45/100 {
		t.Errorf("jitter halves %d / %d, want about even", low, high)
	}
	for fault, want := range map[fault]float64{faultNone: 0.7, faultError: 0.1, faultTimeout: 0.2} {
		if got := float64(counts[fault]) / n; got < want-0.02 || got > want+0.02 {
			t.Errorf("fault %d share %.3f, want %.2f", fault, got, want)
		}
	}
}
