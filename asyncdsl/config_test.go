package asyncdsl

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNewRejectsMisconfiguration(t *testing.T) {
	tests := []struct {
		name     string
		opts     []Option
		problems int
	}{
		{"zero workers", []Option{WithWorkers(0)}, 1},
		{"negative max stuck", []Option{WithMaxStuck(-1)}, 1},
		{"negative bounds", []Option{WithMaxQueuedPerKey(-1), WithMaxPendingPerPartition(0), WithMaxPending(0)}, 3},
		{"timeouts", []Option{WithCallTimeout(-1), WithDrainTimeout(0)}, 2},
		{"retry", []Option{WithRetry(Retry{MaxAttempts: -1, Multiplier: 0.5, Jitter: 2})}, 3},
		{"backoff order", []Option{WithRetry(Retry{InitialBackoff: 2e9, MaxBackoff: 1e9})}, 1},
		{"policy", []Option{WithErrorPolicy(ErrorPolicy(7))}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.opts...)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New = %v, %v; want a *ConfigError", e, err)
			}
			if len(ce.Problems) != tt.problems {
				t.Errorf("problems %q, want %d", ce.Problems, tt.problems)
			}
		})
	}
	e, err := New(WithCallTimeout(0), WithWorkers(1))
	if err != nil {
		t.Fatalf("New with valid options: %v", err)
	}
	_ = e.Close()
}

func TestSubmitRejectsInvalidTasks(t *testing.T) {
	valid := func() Task {
		return Task{Record: rec(0, 7, "k"), Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: func(Outcome) {}}}
	}
	tests := []struct {
		name   string
		policy ErrorPolicy
		mutate func(*Task)
		want   string
	}{
		{"nil attempt", FailOnError, func(t *Task) { t.Work.(*WorkFuncs).AttemptFunc = nil }, "nil AttemptFunc"},
		{"nil release", FailOnError, func(t *Task) { t.Work.(*WorkFuncs).ReleaseFunc = nil }, "nil ReleaseFunc"},
		{"nil ctx", FailOnError, func(t *Task) { t.Ctx = nil }, "nil Ctx"},
		{"nil dead letter", DeadLetterOnError, func(*Task) {}, "nil DeadLetterFunc"},
		{"uncomparable ctx", FailOnError, func(t *Task) { t.Ctx = funcCtx{context.Background(), []int{1}} }, "non-comparable"},
		{"nil work", FailOnError, func(t *Task) { t.Work = nil }, "nil Work"},
		{"nil work funcs", FailOnError, func(t *Task) { t.Work = (*WorkFuncs)(nil) }, "nil Work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExecutor(t, WithErrorPolicy(tt.policy))
			task := valid()
			tt.mutate(&task)
			err := e.Submit(context.Background(), task)
			if !errors.Is(err, errInvalidTask) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "t/0@7") {
				t.Fatalf("Submit = %v, want an invalid-task error naming t/0@7 and %q", err, tt.want)
			}
			if st := e.Stats(); st.Pending != 0 {
				t.Errorf("an invalid task was registered: %+v", st)
			}
		})
	}
}

// funcCtx is a context of a non-comparable type.
type funcCtx struct {
	context.Context
	_ []int
}

// A nil Option is ignored, as in every riffle package.
func TestNewIgnoresNilOptions(t *testing.T) {
	e, err := New(nil, WithWorkers(2), nil)
	if err != nil {
		t.Fatalf("New with nil options: %v", err)
	}
	_ = e.Close()
}
