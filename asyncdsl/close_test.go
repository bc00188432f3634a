package asyncdsl

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"go.uber.org/goleak"
)

// TestClose closes an executor with a finished, a running, an unacknowledged
// and a queued task: everything unreleased is released Abandoned in order,
// and no goroutine survives.
func TestClose(t *testing.T) {
	e, err := New(WithWorkers(2), WithDrainTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	rc := newRecorder()
	actx := context.Background() // never cancelled: only Close ends the work

	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r0)}})
	rc.waitN(t, 1)
	started := make(chan struct{})
	r1 := rec(0, 1, "a")
	submit(t, e, Task{Record: r1, Ctx: actx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		close(started)
		<-ctx.Done() // Close cancels running attempts
		return nil, ctx.Err()
	}, ReleaseFunc: rc.release(r1)}})
	acks := make(chan func(error), 1)
	r2 := rec(0, 2, "b")
	submit(t, e, Task{Record: r2, Ctx: actx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r2)}})
	r3 := rec(0, 3, "a")
	submit(t, e, Task{Record: r3, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r3)}})
	r4 := rec(1, 0, "c") // another partition, queued behind nothing but never acked
	submit(t, e, Task{Record: r4, Ctx: actx, Work: &WorkFuncs{AttemptFunc: holdAck(acks), ReleaseFunc: rc.release(r4)}})
	recv(t, started, "offset 1 to start")
	done := recv(t, acks, "an Apply")
	recv(t, acks, "an Apply")

	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done(nil) // too late: the executor abandoned it
	got := rc.snapshot()
	byPartition := map[int32][]released{}
	for _, r := range got {
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	if s := statuses(byPartition[0]); s != "0:done 1:abandoned 2:abandoned 3:abandoned" {
		t.Fatalf("partition 0 releases %q", s)
	}
	if s := statuses(byPartition[1]); s != "0:abandoned" {
		t.Fatalf("partition 1 releases %q", s)
	}
	rc.checkOnce(t)
	goleak.VerifyNone(t)

	if err := e.Submit(context.Background(), Task{Record: r0, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r0)}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := e.Stats(); st.Pending != 0 || st.Running != 0 || st.Queued != 0 || len(st.Partitions) != 0 {
		t.Errorf("stats after Close %+v", st)
	}
}

// TestCloseWakesBlockedSubmit: a Submit waiting for capacity returns
// ErrClosed when Close begins.
func TestCloseWakesBlockedSubmit(t *testing.T) {
	e, err := New(WithMaxPending(1))
	if err != nil {
		t.Fatal(err)
	}
	rc := newRecorder()
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, ReleaseFunc: rc.release(r0)}})
	errc := make(chan error, 1)
	r1 := rec(0, 1, "b")
	go func() {
		errc <- e.Submit(context.Background(), Task{Record: r1, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r1)}})
	}()
	await.Until(t, testTimeout, "the Submit to block", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.mu.changed != nil // somebody waits for capacity
	})
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	if err := recv(t, errc, "the blocked Submit"); !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Submit = %v, want ErrClosed", err)
	}
	recv(t, closed, "Close")
	if s := statuses(rc.snapshot()); s != "0:abandoned" {
		t.Fatalf("releases %q", s)
	}
}

// TestCloseIdle closes an executor that never ran anything, and one that
// ran tasks and went idle.
func TestCloseIdle(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = New()
	if err != nil {
		t.Fatal(err)
	}
	rc := newRecorder()
	for i := range 100 {
		r := rec(int32(i%3), int64(i), "k")
		submit(t, e, Task{Record: r, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r)}})
	}
	drain(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}
