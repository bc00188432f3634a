package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
)

// withDetachGrace overrides the grace the sweeper gives an attempt past its
// deadline, so that a test can put the deadline right at a call's duration.
func withDetachGrace(d time.Duration) Option {
	return optionFunc(func(c *config) { c.detachGrace = d })
}

// blocker is user code that ignores its context: every call blocks until the
// test releases it, then returns an Apply that records that it ran.
type blocker struct {
	release  chan struct{}
	once     sync.Once
	calls    atomic.Int32
	returned atomic.Int32
	applied  atomic.Int32
}

func newBlocker(t *testing.T) *blocker {
	b := &blocker{release: make(chan struct{})}
	// Released in cleanup too, so that no stuck goroutine outlives the
	// test (goleak); cleanups run last-registered first, so this one runs
	// before the executor's Close.
	t.Cleanup(b.unblock)
	return b
}

func (b *blocker) unblock() { b.once.Do(func() { close(b.release) }) }

func (b *blocker) attempt(context.Context, int) (Apply, error) {
	b.calls.Add(1)
	<-b.release // ignores its context
	b.returned.Add(1)
	return func(done func(error)) { b.applied.Add(1); done(nil) }, nil
}

// waitUnstuck releases b and waits until no goroutine is stuck in e.
func waitUnstuck(t *testing.T, e *Executor, b *blocker) {
	t.Helper()
	b.unblock()
	await.Until(t, testTimeout, "the stuck goroutines to return", func() bool { return e.Stats().Stuck == 0 })
}

// TestStuckAttemptTimesOut: an attempt that blocks ignoring its context is
// given up on at its call deadline plus the grace, as a timeout: it is
// retried, then skipped; the key's next task runs and the partition's
// watermark moves on while the goroutines are still stuck. They are counted
// while stuck, and their results are discarded when they return.
func TestStuckAttemptTimesOut(t *testing.T) {
	const callTimeout = 100 * time.Millisecond
	log := &attemptLog{}
	e := newExecutor(t, WithWorkers(2), WithCallTimeout(callTimeout), WithErrorPolicy(SkipOnError),
		WithRetry(Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
		WithHook(log))
	b := newBlocker(t)
	rc := newRecorder()
	actx := context.Background()

	start := time.Now()
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: b.attempt, ReleaseFunc: rc.release(r0)}})
	fx := &effects{}
	r1 := rec(0, 1, "a") // behind the stuck one on its key
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: fx.attempt(1, nil), ReleaseFunc: rc.release(r1)}})
	r2 := rec(0, 2, "b") // behind it on the watermark
	submit(t, e, Task{Record: r2, Ctx: actx, Work: &WorkFuncs{AttemptFunc: fx.attempt(2, nil), ReleaseFunc: rc.release(r2)}})

	got := rc.waitN(t, 3)
	took := time.Since(start)
	if s := statuses(got); s != "0:skipped 1:done 2:done" {
		t.Fatalf("releases %q", s)
	}
	if min := 2 * callTimeout; took < min {
		t.Errorf("stuck task released after %s, before its two call timeouts (%s)", took, min)
	}
	o := got[0].Outcome
	var stuck *StuckCallError
	if o.Attempts != 2 || !errors.As(o.Err, &stuck) || !errors.Is(o.Err, context.DeadlineExceeded) {
		t.Fatalf("stuck task outcome %+v, want 2 attempts and a *StuckCallError wrapping DeadlineExceeded", o)
	}
	if stuck.Record != r0 || stuck.Attempt != 2 || stuck.Timeout != callTimeout || errors.Is(o.Err, ErrTooManyStuck) {
		t.Errorf("StuckCallError %+v", stuck)
	}
	var stuckSeen int
	for _, err := range log.snapshot() {
		if errors.As(err, &stuck) {
			stuckSeen++
		}
	}
	if stuckSeen != 2 {
		t.Errorf("AttemptHook saw %d *StuckCallErrors, want 2 (%v)", stuckSeen, log.snapshot())
	}
	if applied := fx.snapshot(); len(applied) != 2 {
		t.Errorf("applied %v, want offsets 1 and 2", applied)
	}

	st := e.Stats()
	if st.Stuck != 2 || st.Detached != 2 || st.Discarded != 0 || st.Running != 0 || st.Pending != 0 {
		t.Errorf("stats while stuck: %+v, want 2 stuck, 2 detached, nothing running or pending", st)
	}
	if len(st.Partitions) != 1 || !strings.Contains(st.Partitions[0].LastError, "did not return within its call timeout") {
		t.Errorf("partition stats %+v: LastError should name the stuck call", st.Partitions)
	}
	if n := b.calls.Load(); n != 2 {
		t.Errorf("%d calls of the stuck attempt, want 2", n)
	}

	// Both workers' places were taken over: the executor still runs work.
	r3 := rec(0, 3, "a")
	submit(t, e, Task{Record: r3, Ctx: actx, Work: &WorkFuncs{AttemptFunc: fx.attempt(3, nil), ReleaseFunc: rc.release(r3)}})
	if got := rc.waitN(t, 4)[3]; got.Record != r3 || got.Status != Done {
		t.Fatalf("task after the stuck ones released %+v", got)
	}

	waitUnstuck(t, e, b)
	drain(t, e)
	st = e.Stats()
	if st.Stuck != 0 || st.Detached != 2 || st.Discarded != 2 {
		t.Errorf("stats after release: %+v, want 0 stuck, 2 detached, 2 discarded", st)
	}
	if b.returned.Load() != 2 || b.applied.Load() != 0 {
		t.Errorf("%d stuck calls returned, %d of their Applies ran; want 2 and 0", b.returned.Load(), b.applied.Load())
	}
	rc.checkOnce(t)
}

// TestStuckAttemptsOverLimitFail: once more goroutines are stuck than
// WithMaxStuck allows, a timed-out task fails its assignment whatever the
// policy, with ErrTooManyStuck.
func TestStuckAttemptsOverLimitFail(t *testing.T) {
	e := newExecutor(t, WithWorkers(4), WithCallTimeout(50*time.Millisecond), WithMaxStuck(1),
		WithErrorPolicy(SkipOnError))
	b := newBlocker(t)
	rc := newRecorder()
	actx := context.Background()
	r0, r1 := rec(0, 0, "a"), rec(0, 1, "b")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: b.attempt, ReleaseFunc: rc.release(r0)}})
	rc.waitN(t, 1) // one stuck: within the limit, skipped
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: b.attempt, ReleaseFunc: rc.release(r1)}})
	got := rc.waitN(t, 2)
	if s := statuses(got); s != "0:skipped 1:failed" {
		t.Fatalf("releases %q", s)
	}
	var stuck *StuckCallError
	if err := got[1].Err; !errors.Is(err, ErrTooManyStuck) || !errors.As(err, &stuck) || stuck.Stuck != 2 || stuck.Limit != 1 {
		t.Errorf("over the limit: %v, want a *StuckCallError with 2 stuck, limit 1, wrapping ErrTooManyStuck", err)
	}
	waitUnstuck(t, e, b)
}

// TestCloseWithStuckAttempt: Close returns within the drain timeout, plus a
// margin, while an attempt ignores its cancelled context; the stuck
// goroutine is counted until it returns, and its effects are never applied.
func TestCloseWithStuckAttempt(t *testing.T) {
	const drainTimeout = 200 * time.Millisecond
	e, err := New(WithWorkers(2), WithDrainTimeout(drainTimeout)) // default call timeout: 30 s
	if err != nil {
		t.Fatal(err)
	}
	b := newBlocker(t)
	rc := newRecorder()
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: b.attempt, ReleaseFunc: rc.release(r0)}})
	await.Until(t, testTimeout, "the attempt to start", func() bool { return b.calls.Load() == 1 })

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	recv(t, closed, "Close with an attempt stuck in user code")
	if took := time.Since(start); took < drainTimeout || took > drainTimeout+5*time.Second {
		t.Errorf("Close took %s, want the drain timeout %s plus a margin", took, drainTimeout)
	}
	if s := statuses(rc.snapshot()); s != "0:abandoned" {
		t.Fatalf("releases %q", s)
	}
	if st := e.Stats(); st.Stuck != 1 || st.Detached != 1 || st.Running != 0 {
		t.Errorf("stats after Close: %+v, want 1 stuck, 1 detached, 0 running", st)
	}
	waitUnstuck(t, e, b)
	if st := e.Stats(); st.Discarded != 1 || b.applied.Load() != 0 {
		t.Errorf("stats %+v, %d Applies ran: the late result must be discarded", st, b.applied.Load())
	}
}

// TestRevocationFreesStuckWorker: at the drain deadline of a revocation, a
// worker stuck in user code gives its place back, so that with one worker
// the next assignment's work runs while the old attempt is still stuck.
func TestRevocationFreesStuckWorker(t *testing.T) {
	e := newExecutor(t, WithWorkers(1), WithDrainTimeout(100*time.Millisecond))
	b := newBlocker(t)
	rc := newRecorder()
	oldCtx, revoke := context.WithCancel(context.Background())
	defer revoke()
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: oldCtx, Work: &WorkFuncs{AttemptFunc: b.attempt, ReleaseFunc: rc.release(r0)}})
	await.Until(t, testTimeout, "the attempt to start", func() bool { return b.calls.Load() == 1 })
	revoke()
	if s := statuses(rc.waitN(t, 1)); s != "0:abandoned" {
		t.Fatalf("releases %q", s)
	}

	newCtx, cancelNew := context.WithCancel(context.Background())
	defer cancelNew()
	r1 := rec(1, 0, "b")
	submit(t, e, Task{Record: r1, Ctx: newCtx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r1)}})
	if got := rc.waitN(t, 2)[1]; got.Record != r1 || got.Status != Done {
		t.Fatalf("task of the new assignment released %+v", got)
	}
	if st := e.Stats(); st.Stuck != 1 {
		t.Errorf("stats %+v, want 1 stuck", st)
	}
	waitUnstuck(t, e, b)
	if b.applied.Load() != 0 {
		t.Error("the late Apply of a detached attempt ran")
	}
}

// TestStuckRace races the call returning against the sweeper detaching it:
// calls last about as long as their deadline plus the grace, so both sides
// win, many times. Every task is released exactly once, in order; a task
// released Done applied exactly one attempt's effects, any other none; and
// every detached call's result is discarded when it returns.
func TestStuckRace(t *testing.T) {
	const (
		callTimeout = 2 * time.Millisecond
		grace       = time.Millisecond
		keys        = 20
	)
	tasks := 400
	if testing.Short() {
		tasks = 100
	}
	e := newExecutor(t, WithWorkers(8), WithCallTimeout(callTimeout), withDetachGrace(grace),
		WithErrorPolicy(SkipOnError), WithSeed(1),
		WithMaxStuck(tasks*2), // every call returns soon: no limit here
		WithRetry(Retry{MaxAttempts: 2, InitialBackoff: 10 * time.Microsecond, MaxBackoff: 10 * time.Microsecond}))
	rc := newRecorder()
	var (
		mu      sync.Mutex
		applied = make(map[int64]int)
	)
	actx := context.Background()
	for i := range tasks {
		off := int64(i)
		r := rec(0, off, fmt.Sprintf("k%d", i%keys))
		jitter := time.Duration(rand.Int64N(int64(2 * grace)))
		attempt := func(context.Context, int) (Apply, error) {
			time.Sleep(callTimeout + jitter) // ignores its context
			return func(done func(error)) {
				mu.Lock()
				applied[off]++
				mu.Unlock()
				done(nil)
			}, nil
		}
		submit(t, e, Task{Record: r, Ctx: actx, Work: &WorkFuncs{AttemptFunc: attempt, ReleaseFunc: rc.release(r)}})
	}
	got := rc.waitN(t, tasks)
	rc.checkOnce(t)
	await.Until(t, testTimeout, "the stuck goroutines to return", func() bool { return e.Stats().Stuck == 0 })

	mu.Lock()
	defer mu.Unlock()
	var done, skipped int
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("release %d is offset %d: out of order", i, r.Offset)
		}
		switch r.Status {
		case Done:
			done++
			if applied[r.Offset] != 1 {
				t.Errorf("offset %d done with %d applies", r.Offset, applied[r.Offset])
			}
		case Skipped:
			skipped++
			if applied[r.Offset] != 0 {
				t.Errorf("offset %d skipped but applied %d times", r.Offset, applied[r.Offset])
			}
		default:
			t.Errorf("offset %d released %s", r.Offset, r.Status)
		}
	}
	st := e.Stats()
	if st.Detached != st.Discarded || st.Stuck != 0 {
		t.Errorf("stats %+v: every detached call's result must be discarded", st)
	}
	t.Logf("%d done, %d skipped, %d calls detached", done, skipped, st.Detached)
	if st.Detached == 0 {
		t.Error("no call was detached: the race was not exercised")
	}
}
