package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errBoom = errors.New("boom")

// effects records which tasks' Apply ran.
type effects struct {
	mu      sync.Mutex
	applied []int64
}

func (f *effects) attempt(off int64, err error) func(context.Context, int) (Apply, error) {
	return func(context.Context, int) (Apply, error) {
		if err != nil {
			return nil, err
		}
		return func(done func(error)) {
			f.mu.Lock()
			f.applied = append(f.applied, off)
			f.mu.Unlock()
			done(nil)
		}, nil
	}
}

func (f *effects) snapshot() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.applied...)
}

// TestFailPolicy: the failing task and every later task of its assignment
// are released Failed; later tasks do not run or apply; other assignments
// are unaffected.
func TestFailPolicy(t *testing.T) {
	e := newExecutor(t, WithErrorPolicy(FailOnError))
	rc := newRecorder()
	fx := &effects{}
	ctx := context.Background()
	var laterRan atomic.Bool

	r0, r1, r2 := rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "b")
	submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: fx.attempt(0, nil), ReleaseFunc: rc.release(r0)}})
	submit(t, e, Task{Record: r1, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: fx.attempt(1, errBoom), ReleaseFunc: rc.release(r1)}})
	// Same key as the failing task: it starts only after the failure is known.
	submit(t, e, Task{Record: r2, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		laterRan.Store(true)
		return nil, nil
	}, ReleaseFunc: rc.release(r2)}})
	rc.waitN(t, 3)
	// Submitted after the failure: released Failed without running.
	r3 := rec(0, 3, "c")
	submit(t, e, Task{Record: r3, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: fx.attempt(3, nil), ReleaseFunc: rc.release(r3)}})
	// Another partition keeps working.
	o := rec(1, 0, "a")
	submit(t, e, Task{Record: o, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: fx.attempt(100, nil), ReleaseFunc: rc.release(o)}})
	drain(t, e)

	got := rc.snapshot()
	var p0 []released
	for _, r := range got {
		if r.Partition == 0 {
			p0 = append(p0, r)
		}
	}
	if s := statuses(p0); s != "0:done 1:failed 2:failed 3:failed" {
		t.Fatalf("partition 0 releases %q", s)
	}
	var te *TaskError
	if !errors.As(p0[1].Err, &te) || te.Record != r1 || !errors.Is(p0[1].Err, errBoom) {
		t.Errorf("failed task error %v, want a *TaskError for %+v wrapping boom", p0[1].Err, r1)
	}
	for _, r := range p0[2:] {
		if !errors.Is(r.Err, ErrPartitionFailed) {
			t.Errorf("later task %d error %v, want ErrPartitionFailed", r.Offset, r.Err)
		}
	}
	if laterRan.Load() {
		t.Error("a task after the failure ran")
	}
	if a := fx.snapshot(); len(a) != 2 || a[0] != 0 || a[1] != 100 {
		t.Errorf("applied %v, want only offset 0 of partition 0 and partition 1's task", a)
	}
}

// TestSkipAndDeadLetterPolicies checks Skip, DeadLetter, and a dead letter
// that fails.
func TestSkipAndDeadLetterPolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     ErrorPolicy
		deadLetter func(ctx context.Context, err error) (Apply, error)
		want       string // statuses of offsets 0..2; offset 1 fails
		wantDL     bool   // the dead letter's Apply ran
	}{
		{name: "skip", policy: SkipOnError, want: "0:done 1:skipped 2:done"},
		{
			name:   "dead letter",
			policy: DeadLetterOnError,
			deadLetter: func(context.Context, error) (Apply, error) {
				return func(done func(error)) { go done(nil) }, nil
			},
			want:   "0:done 1:dead-lettered 2:done",
			wantDL: true,
		},
		{
			name:   "dead letter fails",
			policy: DeadLetterOnError,
			deadLetter: func(context.Context, error) (Apply, error) {
				return nil, errors.New("dead-letter topic unavailable")
			},
			want: "0:done 1:failed 2:failed",
		},
		{
			name:   "dead letter write fails",
			policy: DeadLetterOnError,
			deadLetter: func(context.Context, error) (Apply, error) {
				return func(done func(error)) { done(errors.New("produce failed")) }, nil
			},
			want:   "0:done 1:failed 2:failed",
			wantDL: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExecutor(t, WithErrorPolicy(tt.policy))
			rc := newRecorder()
			fx := &effects{}
			var dlGot atomic.Pointer[TaskError]
			var dlApplied atomic.Bool
			for i, err := range []error{nil, errBoom, nil} {
				r := rec(0, int64(i), "k") // one key: offset 2 runs after 1 ended
				task := Task{Record: r, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: fx.attempt(int64(i), err), ReleaseFunc: rc.release(r)}}
				if tt.deadLetter != nil {
					task.Work.(*WorkFuncs).DeadLetterFunc = func(ctx context.Context, err error) (Apply, error) {
						var te *TaskError
						if errors.As(err, &te) {
							dlGot.Store(te)
						}
						apply, dlErr := tt.deadLetter(ctx, err)
						if apply == nil {
							return nil, dlErr
						}
						return func(done func(error)) { dlApplied.Store(true); apply(done) }, dlErr
					}
				}
				submit(t, e, task)
			}
			drain(t, e)
			got := rc.snapshot()
			if s := statuses(got); s != tt.want {
				t.Fatalf("releases %q, want %q", s, tt.want)
			}
			if !errors.Is(got[1].Err, errBoom) {
				t.Errorf("offset 1 error %v, want it to wrap boom", got[1].Err)
			}
			wantApplied := "[0]"
			if strings.HasSuffix(tt.want, "2:done") {
				wantApplied = "[0 2]"
			}
			if a := fmt.Sprint(fx.snapshot()); a != wantApplied {
				t.Errorf("applied %s, want %s", a, wantApplied)
			}
			if tt.deadLetter != nil {
				te := dlGot.Load()
				if te == nil || te.Record != rec(0, 1, "k") || !errors.Is(te, errBoom) {
					t.Errorf("DeadLetter got %v, want a *TaskError naming offset 1", te)
				}
			}
			if dlApplied.Load() != tt.wantDL {
				t.Errorf("dead letter applied = %v", dlApplied.Load())
			}
		})
	}
}

// TestWriteFailureFails: done(err) fails the assignment whatever the policy.
func TestWriteFailureFails(t *testing.T) {
	e := newExecutor(t, WithErrorPolicy(SkipOnError))
	rc := newRecorder()
	for i := range 2 {
		r := rec(0, int64(i), "k")
		submit(t, e, Task{Record: r, Ctx: context.Background(),
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
				return func(done func(error)) {
					go func() {
						done(errBoom)
						done(nil) // a second call is ignored
					}()
				}, nil
			},
				ReleaseFunc: rc.release(r)}})
	}
	drain(t, e)
	got := rc.snapshot()
	if s := statuses(got); s != "0:failed 1:failed" {
		t.Fatalf("releases %q, want both failed", s)
	}
	if !errors.Is(got[0].Err, errBoom) || !errors.Is(got[1].Err, ErrPartitionFailed) {
		t.Errorf("errors %v / %v", got[0].Err, got[1].Err)
	}
	rc.checkOnce(t)
}

func panickyAttempt(context.Context, int) (Apply, error) {
	panic("remote store exploded")
}

// TestPanics: panics in Attempt, Apply and DeadLetter become *PanicError,
// are not retried, and carry the stack of the panicking function.
func TestPanics(t *testing.T) {
	t.Run("attempt", func(t *testing.T) {
		e := newExecutor(t, WithErrorPolicy(SkipOnError), WithRetry(Retry{MaxAttempts: 3}))
		rc := newRecorder()
		r := rec(0, 0, "k")
		submit(t, e, Task{Record: r, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: panickyAttempt, ReleaseFunc: rc.release(r)}})
		o := rc.waitN(t, 1)[0].Outcome
		var pe *PanicError
		if o.Status != Skipped || o.Attempts != 1 || !errors.As(o.Err, &pe) {
			t.Fatalf("outcome %+v, want Skipped after 1 attempt with a *PanicError", o)
		}
		if pe.Value != "remote store exploded" || !strings.Contains(string(pe.Stack), "panickyAttempt") {
			t.Errorf("panic value %v, stack:\n%s", pe.Value, pe.Stack)
		}
	})
	t.Run("apply", func(t *testing.T) {
		e := newExecutor(t, WithErrorPolicy(SkipOnError))
		rc := newRecorder()
		r := rec(0, 0, "k")
		submit(t, e, Task{Record: r, Ctx: context.Background(),
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
				return func(func(error)) { panic(errBoom) }, nil
			},
				ReleaseFunc: rc.release(r)}})
		o := rc.waitN(t, 1)[0].Outcome
		var pe *PanicError
		if o.Status != Failed || !errors.As(o.Err, &pe) || !errors.Is(o.Err, errBoom) {
			t.Fatalf("outcome %+v, want Failed with a *PanicError wrapping boom", o)
		}
	})
	t.Run("dead letter", func(t *testing.T) {
		e := newExecutor(t, WithErrorPolicy(DeadLetterOnError))
		rc := newRecorder()
		r := rec(0, 0, "k")
		submit(t, e, Task{Record: r, Ctx: context.Background(),
			Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { return nil, errBoom },
				DeadLetterFunc: func(context.Context, error) (Apply, error) { panic("no dead letters today") },
				ReleaseFunc:    rc.release(r)}})
		o := rc.waitN(t, 1)[0].Outcome
		var pe *PanicError
		if o.Status != Failed || !errors.As(o.Err, &pe) || !errors.Is(o.Err, errBoom) {
			t.Fatalf("outcome %+v, want Failed with a *PanicError and the cause", o)
		}
	})
}

// recordWork is a Task's Work that fails its attempts when fail is set and
// reports its dead letter and release.
type recordWork struct {
	fail       bool
	attempts   int
	deadLetter chan error
	release    chan Outcome
}

func (w *recordWork) Attempt(context.Context, int) (Apply, error) {
	w.attempts++
	if w.fail {
		return nil, errors.New("remote down")
	}
	return func(done func(error)) { done(nil) }, nil
}

func (w *recordWork) DeadLetter(_ context.Context, err error) (Apply, error) {
	w.deadLetter <- err
	return func(done func(error)) { done(nil) }, nil
}

func (w *recordWork) Release(o Outcome) { w.release <- o }

// TestWorkRunsLikeFuncs: a Task given as Work runs its methods with the
// contracts of the func fields: attempts with retries, the dead letter under
// its policy, one release.
func TestWorkRunsLikeFuncs(t *testing.T) {
	e := newExecutor(t, WithErrorPolicy(DeadLetterOnError), WithRetry(Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond}))
	good := &recordWork{release: make(chan Outcome, 1)}
	submit(t, e, Task{Record: rec(0, 0, "a"), Ctx: context.Background(), Work: good})
	if o := recv(t, good.release, "the good record's release"); o.Status != Done || good.attempts != 1 {
		t.Fatalf("good record: %+v after %d attempts", o, good.attempts)
	}
	bad := &recordWork{fail: true, deadLetter: make(chan error, 1), release: make(chan Outcome, 1)}
	submit(t, e, Task{Record: rec(0, 1, "b"), Ctx: context.Background(), Work: bad})
	if err := recv(t, bad.deadLetter, "the dead letter"); err == nil || !strings.Contains(err.Error(), "remote down") {
		t.Fatalf("dead letter error %v", err)
	}
	if o := recv(t, bad.release, "the bad record's release"); o.Status != DeadLettered || o.Attempts != 2 {
		t.Fatalf("bad record: %+v", o)
	}
	drain(t, e)
}
