package stores_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/stores"
)

// countingKV counts the calls that reach it.
type countingKV struct {
	stores.KeyValue[int64]
	calls int
}

func (c *countingKV) Get(ctx context.Context, key string) (int64, bool, error) {
	c.calls++
	return c.KeyValue.Get(ctx, key)
}

func (c *countingKV) Put(ctx context.Context, key string, v int64) error {
	c.calls++
	return c.KeyValue.Put(ctx, key, v)
}

func newInjector(t *testing.T, f stores.Faults) *stores.Injector {
	t.Helper()
	in, err := stores.NewInjector(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// faultPattern is which of n sequential calls fail.
func faultPattern(t *testing.T, seed uint64, n int) []bool {
	t.Helper()
	kv := stores.InjectKeyValue[int64](stores.NewMemory[int64](), newInjector(t, stores.Faults{ErrorRate: 0.3, Seed: seed}))
	out := make([]bool, n)
	for i := range out {
		_, _, err := kv.Get(context.Background(), "k")
		out[i] = err != nil
	}
	return out
}

// With a seed, the same calls get the same faults; another seed gives
// others.
func TestInjectorDeterministic(t *testing.T) {
	const n = 500
	a, b, c := faultPattern(t, 42, n), faultPattern(t, 42, n), faultPattern(t, 43, n)
	same, failed := true, 0
	for i := range n {
		if a[i] != b[i] {
			t.Fatalf("call %d: seed 42 gave %t then %t", i, a[i], b[i])
		}
		if a[i] != c[i] {
			same = false
		}
		if a[i] {
			failed++
		}
	}
	if same {
		t.Error("seeds 42 and 43 gave the same faults")
	}
	if failed < n*20/100 || failed > n*40/100 {
		t.Errorf("%d of %d calls failed, want about 30%%", failed, n)
	}
}

// Injected errors are typed, transient, and never reach the store.
func TestInjectorErrors(t *testing.T) {
	inner := &countingKV{KeyValue: stores.NewMemory[int64]()}
	in := newInjector(t, stores.Faults{ErrorRate: 1, Seed: 1})
	kv := stores.InjectKeyValue[int64](inner, in)
	err := kv.Put(context.Background(), "k", 1)
	var te *stores.TransientError
	if !errors.As(err, &te) || !errors.Is(err, stores.ErrTransient) || te.Op != "put" || te.Key != "k" {
		t.Fatalf("Put: %#v, want a *TransientError for put k", err)
	}
	if inner.calls != 0 {
		t.Fatalf("the store got %d calls", inner.calls)
	}
	if s := in.Stats(); s.Calls != 1 || s.Errors != 1 || s.Timeouts != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

// An injected timeout holds the call until its context ends, and the store
// is never reached.
func TestInjectorTimeout(t *testing.T) {
	inner := &countingKV{KeyValue: stores.NewMemory[int64]()}
	in := newInjector(t, stores.Faults{TimeoutRate: 1})
	kv := stores.InjectKeyValue[int64](inner, in)
	const d = 30 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	_, _, err := kv.Get(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took < d {
		t.Fatalf("returned after %v, before the deadline of %v", took, d)
	}
	if inner.calls != 0 || in.Stats().Timeouts != 1 {
		t.Fatalf("store calls %d, stats %+v", inner.calls, in.Stats())
	}
}

// The latency wait honours cancellation (a cancelled call does not reach
// the store), and a call that is not cancelled waits at least Latency.
func TestInjectorLatency(t *testing.T) {
	tests := []struct {
		name     string
		faults   stores.Faults
		deadline time.Duration // 0: none
		wantErr  error
		minTook  time.Duration
	}{
		{"cut short by the deadline", stores.Faults{Latency: 5 * time.Second}, 20 * time.Millisecond, context.DeadlineExceeded, 20 * time.Millisecond},
		{"jitter cut short", stores.Faults{Latency: 4 * time.Second, Jitter: time.Second, Seed: 7}, 20 * time.Millisecond, context.DeadlineExceeded, 20 * time.Millisecond},
		{"waits the latency", stores.Faults{Latency: 15 * time.Millisecond}, 0, nil, 15 * time.Millisecond},
		{"latency plus jitter", stores.Faults{Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 3}, 0, nil, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &countingKV{KeyValue: stores.NewMemory[int64]()}
			in := newInjector(t, tt.faults)
			kv := stores.InjectKeyValue[int64](inner, in)
			ctx := context.Background()
			// start is taken before the deadline is set, so a deadline that cuts the
			// wait short can never make took shorter than the deadline itself.
			start := time.Now()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			err := kv.Put(ctx, "k", 1)
			took := time.Since(start)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Put: %v, want %v", err, tt.wantErr)
			}
			if took < tt.minTook {
				t.Fatalf("Put took %v, want at least %v", took, tt.minTook)
			}
			if took > 2*time.Second {
				t.Fatalf("Put took %v: it ignored its context", took)
			}
			wantCalls := 1
			if tt.wantErr != nil {
				wantCalls = 0
			}
			if inner.calls != wantCalls {
				t.Fatalf("store calls %d, want %d", inner.calls, wantCalls)
			}
			if d := in.Stats().Delay; d < tt.faults.Latency || d > tt.faults.Latency+tt.faults.Jitter {
				t.Fatalf("Stats.Delay %v outside [%v, %v]", d, tt.faults.Latency, tt.faults.Latency+tt.faults.Jitter)
			}
		})
	}
}

// The window wrapper applies the same faults.
func TestInjectWindow(t *testing.T) {
	mw, err := stores.NewMemoryWindow(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := stores.InjectWindow(mw, newInjector(t, stores.Faults{ErrorRate: 1}))
	if _, err := w.SeenOrAdd(context.Background(), "x", time.Now()); !errors.Is(err, stores.ErrTransient) {
		t.Fatalf("SeenOrAdd: %v, want ErrTransient", err)
	}
	if mw.Len() != 0 {
		t.Fatal("the failed call reached the window")
	}
	ok := stores.InjectWindow(mw, newInjector(t, stores.Faults{}))
	if seen, err := ok.SeenOrAdd(context.Background(), "x", time.Now()); err != nil || seen {
		t.Fatalf("SeenOrAdd = %t, %v", seen, err)
	}
}

func TestInjectorConfig(t *testing.T) {
	tests := []struct {
		name string
		f    stores.Faults
	}{
		{"negative latency", stores.Faults{Latency: -1}},
		{"negative jitter", stores.Faults{Jitter: -1}},
		{"error rate above 1", stores.Faults{ErrorRate: 1.5}},
		{"negative timeout rate", stores.Faults{TimeoutRate: -0.1}},
		{"rates add up above 1", stores.Faults{ErrorRate: 0.6, TimeoutRate: 0.6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *stores.ConfigError
			if _, err := stores.NewInjector(tt.f); !errors.As(err, &ce) {
				t.Fatalf("NewInjector: %v, want a *ConfigError", err)
			}
		})
	}
}
