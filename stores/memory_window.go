package stores

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// DefaultSweepLimit is how many expired entries a MemoryWindow removes, at
// most, per SeenOrAdd.
const DefaultSweepLimit = 8

// MemoryWindowOption configures NewMemoryWindow. A nil option is ignored.
type MemoryWindowOption interface{ applyMemoryWindow(*memoryWindowConfig) }

type memoryWindowOption func(*memoryWindowConfig)

func (f memoryWindowOption) applyMemoryWindow(c *memoryWindowConfig) { f(c) }

type memoryWindowConfig struct {
	clock      Clock
	sweepLimit int
}

// WithClock is the clock that decides expiry. Default: the wall clock.
func WithClock(c Clock) MemoryWindowOption {
	return memoryWindowOption(func(cfg *memoryWindowConfig) { cfg.clock = c })
}

// WithSweepLimit is the most expired entries one SeenOrAdd removes. Every
// call adds at most one entry, so any limit of 2 or more reclaims expired
// entries faster than they can pile up. Default DefaultSweepLimit.
func WithSweepLimit(n int) MemoryWindowOption {
	return memoryWindowOption(func(cfg *memoryWindowConfig) { cfg.sweepLimit = n })
}

// MemoryWindow is an in-memory Window.
//
// Expiry is lazy and starts no goroutine: an expired entry counts as absent
// from the moment its expiry passes, and each SeenOrAdd removes up to the
// sweep limit of the entries that expired first. Memory therefore stays
// proportional to the ids added within the last W, plus a backlog that each
// call shrinks.
type MemoryWindow struct {
	w          time.Duration
	clock      Clock
	sweepLimit int

	mu struct {
		sync.Mutex
		expiry map[string]time.Time // id -> when it leaves the window
		queue  expiryHeap           // the same entries, soonest expiry first; may hold stale ones
	}
}

var _ Window = (*MemoryWindow)(nil)

// NewMemoryWindow returns an empty window of length w.
func NewMemoryWindow(w time.Duration, opts ...MemoryWindowOption) (*MemoryWindow, error) {
	cfg := memoryWindowConfig{clock: wallClock{}, sweepLimit: DefaultSweepLimit}
	for _, o := range opts {
		if o != nil {
			o.applyMemoryWindow(&cfg)
		}
	}
	var p problems
	if w <= 0 {
		p.addf("window length %v is not positive", w)
	}
	if cfg.clock == nil {
		p.addf("WithClock: nil clock")
	}
	if cfg.sweepLimit < 1 {
		p.addf("WithSweepLimit: %d is less than 1", cfg.sweepLimit)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	mw := &MemoryWindow{w: w, clock: cfg.clock, sweepLimit: cfg.sweepLimit}
	mw.mu.expiry = make(map[string]time.Time)
	return mw, nil
}

// SeenOrAdd reports whether id is in the window, and adds it at at if not.
// It fails, without effect, only if ctx is done.
func (mw *MemoryWindow) SeenOrAdd(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, &OpError{Store: "memory", Op: "seen-or-add", Key: id, Err: err}
	}
	mw.mu.Lock()
	defer mw.mu.Unlock()
	now := mw.clock.Now()
	mw.sweepLocked(now)
	if exp, ok := mw.mu.expiry[id]; ok && exp.After(now) {
		return true, nil
	}
	exp := at.Add(mw.w)
	if !exp.After(now) {
		// Outside the window already: adding it would expire it at once.
		// An expired entry still in the map is left to the sweep.
		return false, nil
	}
	// Either new, or expired and not swept yet: the old entry's heap item
	// becomes stale (its expiry no longer matches the map) and the sweep
	// drops it.
	mw.mu.expiry[id] = exp
	heap.Push(&mw.mu.queue, expiryItem{id: id, expiry: exp})
	return false, nil
}

// sweepLocked removes up to sweepLimit heap items that expired by now, and
// their map entries unless the id was added again since.
func (mw *MemoryWindow) sweepLocked(now time.Time) {
	for range mw.sweepLimit {
		q := &mw.mu.queue
		if q.Len() == 0 || (*q)[0].expiry.After(now) {
			return
		}
		it := heap.Pop(q).(expiryItem)
		if exp, ok := mw.mu.expiry[it.id]; ok && exp.Equal(it.expiry) {
			delete(mw.mu.expiry, it.id)
		}
	}
}

// Len returns the number of ids held, including expired ones not swept yet.
func (mw *MemoryWindow) Len() int {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	return len(mw.mu.expiry)
}

type expiryItem struct {
	id     string
	expiry time.Time
}

// expiryHeap is a min-heap of expiries, for container/heap.
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	old[n-1] = expiryItem{}
	*h = old[:n-1]
	return it
}
