package asyncdsl

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// revokingCtx is a task Ctx that reports itself cancelled (Err) from the
// moment revoke is called, while contexts derived from it are not
// cancelled yet: the window a context.cancelCtx has between recording its
// error and cancelling its children. goka's partition context has it, and
// a writer that checks that context (the adapter's emit queues) may drop a
// record's writes inside it.
type revokingCtx struct {
	context.Context // Background: Done never closes, nothing propagates
	revoked         atomic.Bool
}

func (c *revokingCtx) Err() error {
	if c.revoked.Load() {
		return context.Canceled
	}
	return nil
}

// A write that fails because the assignment's Ctx was cancelled is part of
// the revocation, also in the window before the cancellation reached the
// executor's own context: the task is Abandoned, not Failed (which would
// stop the processor at a rebalance).
func TestWriteFailedInRevocationWindowIsAbandoned(t *testing.T) {
	for _, policy := range []ErrorPolicy{FailOnError, SkipOnError} {
		t.Run(policy.String(), func(t *testing.T) {
			e := newExecutor(t, WithErrorPolicy(policy))
			rc := newRecorder()
			ctx := &revokingCtx{Context: context.Background()}
			r := rec(0, 0, "k")
			attempt := func(context.Context, int) (Apply, error) {
				return func(done func(error)) {
					ctx.revoked.Store(true) // goka cancels the partition's context
					done(errors.New("partition revoked before the record's writes were sent"))
				}, nil
			}
			if err := e.Submit(ctx, Task{Record: r, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: attempt, ReleaseFunc: rc.release(r)}}); err != nil {
				t.Fatal(err)
			}
			if got := rc.waitN(t, 1)[0]; got.Status != Abandoned {
				t.Fatalf("released %s (%v), want abandoned", got.Status, got.Err)
			}
		})
	}
}
