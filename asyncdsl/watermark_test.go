package asyncdsl

import (
	"context"
	"testing"
)

// TestWatermark checks that a slow early task holds back the release of
// later finished tasks of its assignment, that releases then come in
// submission order, and that another partition is not held back.
func TestWatermark(t *testing.T) {
	e := newExecutor(t, WithWorkers(8))
	rc := newRecorder()
	ctx := context.Background()
	hold := make(chan struct{})
	finished := make(chan Record, 8)
	slowStarted := make(chan Record, 1)

	slow := rec(0, 0, "slow")
	submit(t, e, Task{Record: slow, Ctx: ctx,
		Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { slowStarted <- slow; <-hold; return nil, nil },
			ReleaseFunc: rc.release(slow)}})
	for i := int64(1); i <= 3; i++ {
		r := rec(0, i, "fast"+string(rune('0'+i)))
		submit(t, e, Task{Record: r, Ctx: ctx,
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
				return func(done func(error)) { done(nil); finished <- r }, nil
			},
				ReleaseFunc: rc.release(r)}})
	}
	for range 3 {
		recv(t, finished, "a fast task to finish")
	}

	// Another partition is independent of partition 0's slow head.
	other := rec(1, 0, "slow") // same key, other partition: another lane
	submit(t, e, Task{Record: other, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(other)}})
	got := rc.waitN(t, 1)
	if got[0].Record != other {
		t.Fatalf("first release %+v, want partition 1's task", got[0].Record)
	}

	// The slow head's attempt has started, so Stats counts it (a worker
	// takes a task before its attempt starts).
	recv(t, slowStarted, "the slow task's attempt to start")
	st := e.Stats()
	if len(st.Partitions) != 2 {
		t.Fatalf("Stats has %d partitions, want 2: %+v", len(st.Partitions), st)
	}
	p0 := st.Partitions[0]
	if p0.Partition != 0 || p0.Pending != 4 || p0.HeadOffset != 0 || p0.HeadKey != "slow" || p0.HeadAttempts != 1 {
		t.Errorf("partition 0 stats %+v, want 4 pending held by offset 0 (key slow, 1 attempt)", p0)
	}
	if p1 := st.Partitions[1]; p1.Partition != 1 || p1.Pending != 0 || p1.HeadOffset != -1 {
		t.Errorf("partition 1 stats %+v, want nothing pending", p1)
	}
	if len(rc.snapshot()) != 1 {
		t.Fatalf("partition 0 released before its head finished: %v", statuses(rc.snapshot()))
	}

	close(hold)
	got = rc.waitN(t, 5)[1:]
	if s := statuses(got); s != "0:done 1:done 2:done 3:done" {
		t.Fatalf("partition 0 releases %q, want offsets 0..3 done in order", s)
	}
	rc.checkOnce(t)
}

// TestLaneMovesOnAfterApply: the next task of a lane starts once the
// previous task's Apply returned, without waiting for its writes to be
// acknowledged; the release still waits for the acknowledgement.
func TestLaneMovesOnAfterApply(t *testing.T) {
	e := newExecutor(t)
	rc := newRecorder()
	ctx := context.Background()
	acks := make(chan func(error), 1)
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r0)}})
	second := make(chan struct{})
	r1 := rec(0, 1, "a")
	submit(t, e, Task{Record: r1, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		close(second)
		return nil, nil
	}, ReleaseFunc: rc.release(r1)}})
	done := recv(t, acks, "offset 0's Apply")
	recv(t, second, "offset 1 to start before offset 0's ack")
	if n := len(rc.snapshot()); n != 0 {
		t.Fatalf("released %d tasks before the head's ack", n)
	}
	done(nil)
	if s := statuses(rc.waitN(t, 2)); s != "0:done 1:done" {
		t.Fatalf("releases %q", s)
	}
}
