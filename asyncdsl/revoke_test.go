package asyncdsl

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
)

// TestRevocation cancels an assignment with a released, a running, a queued
// and a finished-but-held-back task: the running attempt sees its context
// cancelled, and every unreleased task is released Abandoned, in order,
// without error, including the one that had finished (no Done may follow an
// Abandoned in an assignment).
func TestRevocation(t *testing.T) {
	e := newExecutor(t, WithWorkers(4))
	rc := newRecorder()
	actx, revoke := context.WithCancel(context.Background())
	defer revoke()

	r0 := rec(0, 0, "x")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r0)}})
	rc.waitN(t, 1)

	started := make(chan struct{})
	sawCancel := make(chan error, 1)
	r1 := rec(0, 1, "a")
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		close(started)
		<-ctx.Done()
		sawCancel <- ctx.Err()
		return nil, ctx.Err()
	}, ReleaseFunc: rc.release(r1)}})
	var queuedRan atomic.Bool
	r2 := rec(0, 2, "a")
	submit(t, e, Task{Record: r2, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		queuedRan.Store(true)
		return nil, nil
	}, ReleaseFunc: rc.release(r2)}})
	finished := make(chan struct{})
	r3 := rec(0, 3, "b")
	submit(t, e, Task{Record: r3, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		return func(done func(error)) { done(nil); close(finished) }, nil
	}, ReleaseFunc: rc.release(r3)}})
	recv(t, started, "offset 1 to start")
	recv(t, finished, "offset 3 to finish")

	revoke()
	if err := recv(t, sawCancel, "the running attempt to see the cancellation"); err != context.Canceled {
		t.Errorf("running attempt saw %v, want context.Canceled", err)
	}
	got := rc.waitN(t, 4)
	if s := statuses(got); s != "0:done 1:abandoned 2:abandoned 3:abandoned" {
		t.Fatalf("releases %q", s)
	}
	for _, r := range got[1:] {
		if r.Err != nil {
			t.Errorf("abandoned offset %d has error %v: cancellation is not an error", r.Offset, r.Err)
		}
	}
	if queuedRan.Load() {
		t.Error("a queued task ran after revocation")
	}
	drain(t, e)
	rc.checkOnce(t)
}

// TestRevocationDetachesStuckTask: an attempt that ignores its cancelled
// context is abandoned at the drain deadline, its lane is handed to the next
// assignment of the partition, and its late result is discarded.
func TestRevocationDetachesStuckTask(t *testing.T) {
	const drainTimeout = 300 * time.Millisecond
	e := newExecutor(t, WithWorkers(4), WithDrainTimeout(drainTimeout))
	rc := newRecorder()
	oldCtx, revoke := context.WithCancel(context.Background())
	defer revoke()

	stuck := make(chan struct{})
	started := make(chan struct{}, 2)
	var lateApply atomic.Bool
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: oldCtx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		started <- struct{}{}
		<-stuck // ignores ctx
		return func(done func(error)) { lateApply.Store(true); done(nil) }, nil
	}, ReleaseFunc: rc.release(r0)}})
	r1 := rec(0, 1, "b")
	submit(t, e, Task{Record: r1, Ctx: oldCtx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err() // cancellation: not an error
	}, ReleaseFunc: rc.release(r1)}})
	r2 := rec(0, 2, "a")
	submit(t, e, Task{Record: r2, Ctx: oldCtx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r2)}})
	recv(t, started, "an attempt to start")
	recv(t, started, "an attempt to start")

	revokedAt := time.Now()
	revoke()
	// While the stuck task holds the drain open, the cancelled attempt of
	// offset 1 has returned without leaving an error behind.
	await.Until(t, testTimeout, "offset 1 to return", func() bool { return e.Stats().Running == 1 })
	for _, p := range e.Stats().Partitions {
		if p.LastError != "" {
			t.Errorf("LastError %q after a cancellation", p.LastError)
		}
	}

	got := rc.waitN(t, 3)
	if s := statuses(got); s != "0:abandoned 1:abandoned 2:abandoned" {
		t.Fatalf("releases %q", s)
	}
	if took := time.Since(revokedAt); took < drainTimeout {
		t.Errorf("stuck task released after %s, before the drain timeout", took)
	}

	// A new assignment of the partition gets lane "a" although the old
	// attempt is still stuck.
	newCtx, cancelNew := context.WithCancel(context.Background())
	defer cancelNew()
	r3 := rec(0, 3, "a")
	submit(t, e, Task{Record: r3, Ctx: newCtx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r3)}})
	if got := rc.waitN(t, 4)[3]; got.Record != r3 || got.Status != Done {
		t.Fatalf("new assignment's task released %+v", got)
	}

	close(stuck)
	await.Until(t, testTimeout, "the stuck worker to return", func() bool { return e.Stats().Running == 0 })
	drain(t, e)
	if lateApply.Load() {
		t.Error("the late Apply of an abandoned task ran")
	}
	if n := len(rc.snapshot()); n != 4 {
		t.Errorf("%d releases, want 4", n)
	}
	rc.checkOnce(t)
}

// TestRevocationWaitsForAcks: a write applied before the revocation and
// acknowledged within the drain timeout is released Done.
func TestRevocationWaitsForAcks(t *testing.T) {
	e := newExecutor(t, WithWorkers(4), WithDrainTimeout(testTimeout))
	rc := newRecorder()
	actx, revoke := context.WithCancel(context.Background())
	defer revoke()

	acks := make(chan func(error), 1)
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r0)}})
	started := make(chan struct{})
	r1 := rec(0, 1, "b")
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, ReleaseFunc: rc.release(r1)}})
	r2 := rec(0, 2, "b")
	submit(t, e, Task{Record: r2, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r2)}})
	done := recv(t, acks, "offset 0's Apply")
	recv(t, started, "offset 1 to start")

	revoke()
	await.Until(t, testTimeout, "queued and running tasks to end", func() bool {
		st := e.Stats()
		return st.Queued == 0 && st.Running == 0
	})
	if n := len(rc.snapshot()); n != 0 {
		t.Fatalf("released %d tasks before the head's write was acknowledged", n)
	}
	done(nil)
	got := rc.waitN(t, 3)
	if s := statuses(got); s != "0:done 1:abandoned 2:abandoned" {
		t.Fatalf("releases %q", s)
	}
	drain(t, e)
}

// TestRevocationUnackedWriteAbandoned: a write never acknowledged is
// abandoned at the drain deadline; acknowledging it later changes nothing.
func TestRevocationUnackedWriteAbandoned(t *testing.T) {
	e := newExecutor(t, WithDrainTimeout(50*time.Millisecond))
	rc := newRecorder()
	actx, revoke := context.WithCancel(context.Background())
	acks := make(chan func(error), 1)
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r0)}})
	done := recv(t, acks, "the Apply")
	revoke()
	if got := rc.waitN(t, 1)[0]; got.Status != Abandoned {
		t.Fatalf("unacknowledged write released %s", got.Status)
	}
	done(nil)
	drain(t, e)
	rc.checkOnce(t)
}

// TestRevocationStopsApply: an attempt that succeeds after its assignment
// was revoked (ignoring the cancellation) never gets its Apply called, while
// an Apply that was in progress completes.
func TestRevocationStopsApply(t *testing.T) {
	e := newExecutor(t, WithWorkers(4))
	rc := newRecorder()
	actx, revoke := context.WithCancel(context.Background())
	defer revoke()

	inApply := make(chan struct{})
	proceed := make(chan struct{})
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		return func(done func(error)) { close(inApply); <-proceed; done(nil) }, nil
	}, ReleaseFunc: rc.release(r0)}})
	var applied atomic.Bool
	r1 := rec(0, 1, "b")
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		<-ctx.Done()
		return func(done func(error)) { applied.Store(true); done(nil) }, nil
	}, ReleaseFunc: rc.release(r1)}})
	recv(t, inApply, "offset 0's Apply")
	revoke()
	close(proceed)
	got := rc.waitN(t, 2)
	if s := statuses(got); s != "0:done 1:abandoned" {
		t.Fatalf("releases %q", s)
	}
	if applied.Load() {
		t.Error("Apply ran after the revocation")
	}
	drain(t, e)
}

// TestRevocationFailedWriteAbandoned: a write that fails after its
// assignment was revoked (a writer dropping a revoked assignment's writes)
// is part of the revocation: the task is Abandoned, and the assignment does
// not fail, whatever the policy.
func TestRevocationFailedWriteAbandoned(t *testing.T) {
	e := newExecutor(t, WithWorkers(4), WithDrainTimeout(testTimeout))
	rc := newRecorder()
	actx, revoke := context.WithCancel(context.Background())
	defer revoke()

	acks := make(chan func(error), 1)
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r0)}})
	r1 := rec(0, 1, "b")
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r1)}})
	done := recv(t, acks, "offset 0's Apply")
	revoke()
	done(errors.New("dropped: partition revoked"))
	got := rc.waitN(t, 2)
	if s := statuses(got); s != "0:abandoned 1:abandoned" {
		t.Fatalf("releases %q, want both abandoned", s)
	}
	if got[0].Err != nil {
		t.Errorf("abandoned task carries error %v", got[0].Err)
	}
	drain(t, e)
	rc.checkOnce(t)
}
