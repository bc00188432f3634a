package asyncdsl

import (
	"context"
	"sync"
	"testing"
	"time"
)

// hookLog implements every hook.
type hookLog struct {
	mu                sync.Mutex
	submits, attempts int
	starts            map[int64][2]time.Duration // offset -> waited for key, for worker
	releases          map[int64]time.Duration    // offset -> held back
	order             []string
}

func (h *hookLog) OnSubmit(r Record, _ time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.submits++
}

func (h *hookLog) OnStart(r Record, key, worker time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.starts[r.Offset] = [2]time.Duration{key, worker}
	h.order = append(h.order, "start")
}

func (h *hookLog) OnAttempt(r Record, _ int, _ time.Duration, _ error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	h.order = append(h.order, "attempt")
}

func (h *hookLog) OnRelease(r Record, _ Outcome, heldBack time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releases[r.Offset] = heldBack
	h.order = append(h.order, "release")
}

func TestHooks(t *testing.T) {
	h := &hookLog{starts: map[int64][2]time.Duration{}, releases: map[int64]time.Duration{}}
	e := newExecutor(t, WithWorkers(4), WithHook(h))
	rc := newRecorder()
	ctx := context.Background()
	finished := make(chan struct{})
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		<-finished
		time.Sleep(10 * time.Millisecond) // slow work, while offset 2 is held back
		return nil, nil
	}, ReleaseFunc: rc.release(r0)}})
	r1 := rec(0, 1, "a") // waits for its key behind offset 0
	submit(t, e, Task{Record: r1, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r1)}})
	r2 := rec(0, 2, "b") // finishes at once, held back by offset 0
	submit(t, e, Task{Record: r2, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		defer close(finished)
		return nil, nil
	}, ReleaseFunc: rc.release(r2)}})
	drain(t, e)

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.submits != 3 || h.attempts != 3 || len(h.starts) != 3 || len(h.releases) != 3 {
		t.Fatalf("hooks saw %d submits, %d attempts, %d starts, %d releases; want 3 each", h.submits, h.attempts, len(h.starts), len(h.releases))
	}
	if w := h.starts[1][0]; w < 10*time.Millisecond {
		t.Errorf("offset 1 waited %s for its key, want at least the 10ms offset 0 took", w)
	}
	if hb := h.releases[2]; hb < 5*time.Millisecond {
		t.Errorf("offset 2 held back %s, want at least 5ms", hb)
	}
}
