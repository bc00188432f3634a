package stores_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/stores"
)

// Expiry of the memory window, on a fake clock: an id added at t is seen
// until t+W (exclusive), sightings do not extend it, and ids outside the
// window already are neither seen nor added.
func TestMemoryWindowExpiry(t *testing.T) {
	const w = time.Minute
	type step struct {
		advance  time.Duration // clock move before the call
		id       string
		atOffset time.Duration // at = clock now + atOffset
		wantSeen bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first sighting is new, second is seen", []step{
			{0, "a", 0, false},
			{0, "a", 0, true},
			{0, "b", 0, false},
		}},
		{"seen until exactly W", []step{
			{0, "a", 0, false},
			{w - time.Nanosecond, "a", 0, true},
			{time.Nanosecond, "a", 0, false}, // expired at at+W, added again
			{w - time.Nanosecond, "a", 0, true},
		}},
		{"a sighting does not extend the window", []step{
			{0, "a", 0, false},
			{w / 2, "a", 0, true},
			{w / 2, "a", 0, false},
		}},
		{"the window runs from at, not from the call", []step{
			{0, "a", -w / 2, false}, // happened half a window ago
			{w/2 - time.Nanosecond, "a", 0, true},
			{time.Nanosecond, "a", 0, false},
		}},
		{"an event older than the window is new and not kept", []step{
			{0, "a", -w, false},
			{0, "a", -w, false},
			{0, "a", 0, false}, // only now added
			{0, "a", -w, true}, // a late copy of a remembered id is a duplicate
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			mw, err := stores.NewMemoryWindow(w, stores.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				seen, err := mw.SeenOrAdd(context.Background(), s.id, clock.Now().Add(s.atOffset))
				if err != nil || seen != s.wantSeen {
					t.Fatalf("step %d (%s): seen=%t err=%v, want seen=%t", i, s.id, seen, err, s.wantSeen)
				}
			}
		})
	}
}

// Expired entries are reclaimed by later calls, a bounded number per call,
// without any goroutine.
func TestMemoryWindowSweep(t *testing.T) {
	const (
		w     = time.Second
		n     = 100
		limit = 4
	)
	clock := newFakeClock()
	mw, err := stores.NewMemoryWindow(w, stores.WithClock(clock), stores.WithSweepLimit(limit))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if _, err := mw.SeenOrAdd(ctx, fmt.Sprint("old-", i), clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := mw.Len(); got != n {
		t.Fatalf("Len = %d, want %d", got, n)
	}
	clock.Advance(w)
	// Each call removes at most limit expired entries and adds one.
	for i := range n / limit {
		if _, err := mw.SeenOrAdd(ctx, fmt.Sprint("new-", i), clock.Now()); err != nil {
			t.Fatal(err)
		}
		if got, want := mw.Len(), n-(i+1)*limit+(i+1); got != want {
			t.Fatalf("after call %d: Len = %d, want %d", i, got, want)
		}
	}
	if got := mw.Len(); got != n/limit {
		t.Fatalf("Len = %d, want only the %d new ids", got, n/limit)
	}
	// An id re-added after expiry survives the sweep of its stale entry.
	clock.Advance(w)
	if seen, _ := mw.SeenOrAdd(ctx, "new-0", clock.Now()); seen {
		t.Fatal("new-0 seen after expiry")
	}
	for range n {
		if _, err := mw.SeenOrAdd(ctx, "other", clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if seen, _ := mw.SeenOrAdd(ctx, "new-0", clock.Now()); !seen {
		t.Fatal("re-added new-0 was swept")
	}
}

func TestMemoryWindowConfig(t *testing.T) {
	tests := []struct {
		name string
		w    time.Duration
		opts []stores.MemoryWindowOption
	}{
		{"zero window", 0, nil},
		{"negative window", -time.Second, nil},
		{"nil clock", time.Second, []stores.MemoryWindowOption{stores.WithClock(nil)}},
		{"zero sweep limit", time.Second, []stores.MemoryWindowOption{stores.WithSweepLimit(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *stores.ConfigError
			if _, err := stores.NewMemoryWindow(tt.w, tt.opts...); !errors.As(err, &ce) {
				t.Fatalf("NewMemoryWindow: %v, want a *ConfigError", err)
			}
		})
	}
}

// windowBackend builds a fresh Window of length w for one test.
type windowBackend struct {
	name string
	new  func(t *testing.T, w time.Duration) stores.Window
}

func windowBackends() []windowBackend {
	return []windowBackend{
		{"memory", func(t *testing.T, w time.Duration) stores.Window {
			mw, err := stores.NewMemoryWindow(w)
			if err != nil {
				t.Fatal(err)
			}
			return mw
		}},
		{"redis", func(t *testing.T, w time.Duration) stores.Window {
			return newRedisWindow(t, w)
		}},
	}
}

func newRedisWindow(t *testing.T, w time.Duration, opts ...stores.RedisOption) *stores.RedisWindow {
	t.Helper()
	srv := redistestStart(t)
	rw, err := stores.NewRedisWindow(w, append([]stores.RedisOption{stores.WithAddr(srv.Addr), stores.WithKeyPrefix("seen:")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rw.Close() })
	return rw
}

// Of many concurrent sightings of one new id, exactly one is first.
func TestWindowAtomic(t *testing.T) {
	const (
		ids     = 20
		callers = 8
	)
	for _, b := range windowBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			win := b.new(t, time.Hour)
			var firsts [ids]atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for range callers {
				wg.Go(func() {
					for i := range ids {
						seen, err := win.SeenOrAdd(ctx, fmt.Sprint("id-", i), time.Now())
						if err != nil {
							errs <- err
							return
						}
						if !seen {
							firsts[i].Add(1)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i := range firsts {
				if n := firsts[i].Load(); n != 1 {
					t.Errorf("id-%d reported new %d times, want once", i, n)
				}
			}
		})
	}
}

// Expiry with the real clock, on every backend (Redis expires keys by
// itself): an id is seen right after it was added, and is new again once
// W has passed, not before. The test polls with a deadline.
func TestWindowExpiresRealTime(t *testing.T) {
	const w = 200 * time.Millisecond
	for _, b := range windowBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			win := b.new(t, w)
			at := time.Now()
			if seen, err := win.SeenOrAdd(ctx, "x", at); err != nil || seen {
				t.Fatalf("first SeenOrAdd = %t, %v", seen, err)
			}
			if seen, err := win.SeenOrAdd(ctx, "x", time.Now()); err != nil || !seen {
				t.Fatalf("second SeenOrAdd = %t, %v; want seen", seen, err)
			}
			// While seen, SeenOrAdd changes nothing; the first false
			// re-adds x, after expiry.
			await.Until(t, 10*time.Second, fmt.Sprintf("x to expire (window %v)", w), func() bool {
				seen, err := win.SeenOrAdd(ctx, "x", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return !seen
			})
			// Redis rounds the TTL down to whole milliseconds; allow a
			// little more for its millisecond clock.
			if elapsed := time.Since(at); elapsed < w-5*time.Millisecond {
				t.Fatalf("x expired after %v, before the window of %v", elapsed, w)
			}
		})
	}
}

// Ids older than the window are new and not kept, on every backend.
func TestWindowLateEvent(t *testing.T) {
	const w = time.Hour
	for _, b := range windowBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			win := b.new(t, w)
			old := time.Now().Add(-2 * w)
			for range 2 {
				if seen, err := win.SeenOrAdd(ctx, "late", old); err != nil || seen {
					t.Fatalf("SeenOrAdd(old) = %t, %v; want new", seen, err)
				}
			}
			if seen, err := win.SeenOrAdd(ctx, "late", time.Now()); err != nil || seen {
				t.Fatalf("SeenOrAdd(now) = %t, %v; want new", seen, err)
			}
			if seen, err := win.SeenOrAdd(ctx, "late", old); err != nil || !seen {
				t.Fatalf("late copy of a remembered id: %t, %v; want seen", seen, err)
			}
		})
	}
}

func TestWindowCancelled(t *testing.T) {
	for _, b := range windowBackends() {
		t.Run(b.name, func(t *testing.T) {
			win := b.new(t, time.Hour)
			ctx, cancel := context.WithCancel(testCtx(t))
			cancel()
			if _, err := win.SeenOrAdd(ctx, "x", time.Now()); !errors.Is(err, context.Canceled) {
				t.Fatalf("SeenOrAdd with a cancelled context: %v", err)
			}
			if seen, err := win.SeenOrAdd(testCtx(t), "x", time.Now()); err != nil || seen {
				t.Fatalf("the cancelled call added x: seen=%t err=%v", seen, err)
			}
		})
	}
}

// A nil MemoryWindowOption is ignored, as in every riffle package.
func TestNewMemoryWindowIgnoresNilOptions(t *testing.T) {
	w, err := stores.NewMemoryWindow(time.Second, nil, stores.WithSweepLimit(4), nil)
	if err != nil || w == nil {
		t.Fatalf("NewMemoryWindow with nil options = %v, %v", w, err)
	}
}
