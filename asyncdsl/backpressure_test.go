package asyncdsl

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
)

// TestBackpressure fills each bound in turn and checks that Submit blocks
// (a timeout or cancellation of its ctx ends the wait and registers
// nothing), that other lanes or partitions are not blocked, and that Submit
// returns once a release frees capacity.
func TestBackpressure(t *testing.T) {
	tests := []struct {
		name  string
		opt   Option
		fill  []Record // submitted first; their attempts block
		extra Record   // blocks until a fill task is released
		free  *Record  // not blocked by the full bound
	}{
		{
			name:  "per key",
			opt:   WithMaxQueuedPerKey(2),
			fill:  []Record{rec(0, 0, "a"), rec(0, 1, "a")},
			extra: rec(0, 3, "a"),
			free:  &Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: 0, Offset: 2, Key: "b"}},
		},
		{
			name:  "per partition",
			opt:   WithMaxPendingPerPartition(2),
			fill:  []Record{rec(0, 0, "a"), rec(0, 1, "b")},
			extra: rec(0, 2, "c"),
			free:  &Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: 1, Offset: 0, Key: "c"}},
		},
		{
			name:  "per executor",
			opt:   WithMaxPending(2),
			fill:  []Record{rec(0, 0, "a"), rec(1, 0, "b")},
			extra: rec(2, 0, "c"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExecutor(t, tt.opt, WithWorkers(4))
			rc := newRecorder()
			hold := make(chan struct{})
			started := make(chan struct{}, 8)
			blocking := func(context.Context, int) (Apply, error) {
				started <- struct{}{}
				<-hold
				return nil, nil
			}
			actx := context.Background()
			for _, r := range tt.fill {
				submit(t, e, Task{Record: r, Ctx: actx, Work: &WorkFuncs{AttemptFunc: blocking, ReleaseFunc: rc.release(r)}})
			}
			// Submit returned while the attempt blocks: the work runs on
			// a worker, not on the submitting goroutine.
			recv(t, started, "the first attempt to start")

			extra := Task{Record: tt.extra, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(tt.extra)}}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			err := e.Submit(ctx, extra)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Submit on a full bound = %v, want DeadlineExceeded", err)
			}

			ctx, cancel = context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- e.Submit(ctx, extra) }()
			cancel()
			if err := recv(t, errc, "a cancelled Submit"); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Submit = %v, want Canceled", err)
			}

			want := len(tt.fill) + 1
			if tt.free != nil {
				r := *tt.free
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				err := e.Submit(ctx, Task{Record: r, Ctx: actx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r)}})
				cancel()
				if err != nil {
					t.Fatalf("Submit outside the full bound: %v", err)
				}
				want++
			}

			go func() { errc <- e.Submit(context.Background(), extra) }()
			close(hold)
			if err := recv(t, errc, "the blocked Submit"); err != nil {
				t.Fatalf("blocked Submit = %v after capacity was freed", err)
			}
			drain(t, e)
			got := rc.snapshot()
			if len(got) != want {
				t.Fatalf("released %d tasks, want %d: %v", len(got), want, statuses(got))
			}
			rc.checkOnce(t) // the extra task that timed out or was cancelled was never registered
		})
	}
}

// TestSubmitEndsWithTaskCtx checks that a Submit blocked for capacity
// returns when the task's assignment context ends, registering nothing.
func TestSubmitEndsWithTaskCtx(t *testing.T) {
	e := newExecutor(t, WithMaxPending(1))
	rc := newRecorder()
	hold := make(chan struct{})
	first := rec(0, 0, "a")
	submit(t, e, Task{Record: first, Ctx: context.Background(),
		Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { <-hold; return nil, nil },
			ReleaseFunc: rc.release(first)}})

	assignment, revoke := context.WithCancel(context.Background())
	second := rec(1, 0, "b")
	errc := make(chan error, 1)
	go func() {
		errc <- e.Submit(context.Background(), Task{Record: second, Ctx: assignment, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(second)}})
	}()
	revoke()
	if err := recv(t, errc, "Submit"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit = %v, want Canceled", err)
	}
	// A cancelled Ctx is refused without waiting, too.
	if err := e.Submit(context.Background(), Task{Record: second, Ctx: assignment, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(second)}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with a cancelled Ctx = %v, want Canceled", err)
	}
	close(hold)
	drain(t, e)
	if got := statuses(rc.snapshot()); got != "0:done" {
		t.Fatalf("releases %q, want only the first task", got)
	}
}
