package asyncdsl

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
)

// attemptLog is an AttemptHook that records attempt errors.
type attemptLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *attemptLog) OnAttempt(_ Record, _ int, _ time.Duration, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *attemptLog) snapshot() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

var errTransient = errors.New("transient")

func TestRetry(t *testing.T) {
	fast := Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	tests := []struct {
		name         string
		opts         []Option
		attempt      func(ctx context.Context, n int) (Apply, error)
		wantStatus   Status
		wantAttempts int
		wantErr      error // wrapped by the outcome's error, if not nil
	}{
		{
			name: "call timeout is a retryable error",
			opts: []Option{WithRetry(fast), WithCallTimeout(5 * time.Millisecond)},
			attempt: func(ctx context.Context, _ int) (Apply, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			wantStatus:   Skipped,
			wantAttempts: 3,
			wantErr:      context.DeadlineExceeded,
		},
		{
			name: "transient errors then success",
			opts: []Option{WithRetry(fast)},
			attempt: func(_ context.Context, n int) (Apply, error) {
				if n < 3 {
					return nil, errTransient
				}
				return nil, nil
			},
			wantStatus:   Done,
			wantAttempts: 3,
		},
		{
			name: "permanent error is not retried",
			opts: []Option{WithRetry(Retry{MaxAttempts: 5, InitialBackoff: time.Millisecond})},
			attempt: func(context.Context, int) (Apply, error) {
				return nil, Permanent(errTransient)
			},
			wantStatus:   Skipped,
			wantAttempts: 1,
			wantErr:      errTransient,
		},
		{
			name: "no retry by default",
			attempt: func(context.Context, int) (Apply, error) {
				return nil, errTransient
			},
			wantStatus:   Skipped,
			wantAttempts: 1,
			wantErr:      errTransient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &attemptLog{}
			opts := append([]Option{WithErrorPolicy(SkipOnError), WithHook(log)}, tt.opts...)
			e := newExecutor(t, opts...)
			rc := newRecorder()
			r := rec(0, 0, "k")
			submit(t, e, Task{Record: r, Ctx: context.Background(), Work: &WorkFuncs{AttemptFunc: tt.attempt, ReleaseFunc: rc.release(r)}})
			o := rc.waitN(t, 1)[0].Outcome
			if o.Status != tt.wantStatus || o.Attempts != tt.wantAttempts {
				t.Fatalf("outcome %s after %d attempts (%v), want %s after %d", o.Status, o.Attempts, o.Err, tt.wantStatus, tt.wantAttempts)
			}
			if got := len(log.snapshot()); got != tt.wantAttempts {
				t.Errorf("AttemptHook saw %d attempts, want %d", got, tt.wantAttempts)
			}
			if tt.wantErr == nil {
				if o.Err != nil {
					t.Errorf("outcome error %v, want nil", o.Err)
				}
				return
			}
			var te *TaskError
			if !errors.As(o.Err, &te) || te.Record != r || te.Attempts != tt.wantAttempts || !errors.Is(o.Err, tt.wantErr) {
				t.Errorf("outcome error %v, want a *TaskError for %+v after %d attempts wrapping %v", o.Err, r, tt.wantAttempts, tt.wantErr)
			}
			for _, err := range log.snapshot() {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("attempt error %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	r := Retry{InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Jitter: 0.2}
	tests := []struct {
		n    int
		u    float64
		want time.Duration
	}{
		{n: 1, u: 0.5, want: 10 * time.Millisecond},
		{n: 2, u: 0.5, want: 20 * time.Millisecond},
		{n: 4, u: 0.5, want: 80 * time.Millisecond},
		{n: 1, u: 0, want: 8 * time.Millisecond},
		{n: 10, u: 0.5, want: time.Second}, // capped
		{n: 10, u: 0, want: 800 * time.Millisecond},
		{n: 5000, u: 0.5, want: time.Second}, // no overflow
	}
	for _, tt := range tests {
		if got := backoffDelay(r, tt.n, tt.u); got != tt.want {
			t.Errorf("backoffDelay(n=%d, u=%g) = %s, want %s", tt.n, tt.u, got, tt.want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 12; n++ {
		base := min(float64(r.InitialBackoff)*float64(int64(1)<<(n-1)), float64(r.MaxBackoff))
		lo, hi := time.Duration(base*0.8), time.Duration(base*1.2)
		for range 200 {
			if d := backoffDelay(r, n, rng.Float64()); d < lo || d > hi {
				t.Fatalf("backoffDelay(n=%d) = %s, outside [%s, %s]", n, d, lo, hi)
			}
		}
	}
	if d := backoffDelay(Retry{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Multiplier: 1}, 3, 0.9); d != time.Millisecond {
		t.Errorf("backoff without jitter = %s, want 1ms", d)
	}
}

// TestBackoffStopsOnRevocation checks that a task waiting for its next
// attempt is abandoned at once when its assignment is revoked.
func TestBackoffStopsOnRevocation(t *testing.T) {
	e := newExecutor(t, WithRetry(Retry{MaxAttempts: 3, InitialBackoff: time.Hour, MaxBackoff: time.Hour}))
	rc := newRecorder()
	ctx, revoke := context.WithCancel(context.Background())
	failed := make(chan struct{})
	r := rec(0, 0, "k")
	submit(t, e, Task{Record: r, Ctx: ctx,
		Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { close(failed); return nil, errTransient },
			ReleaseFunc: rc.release(r)}})
	recv(t, failed, "the first attempt")
	await.Until(t, testTimeout, "the error to show in Stats", func() bool {
		st := e.Stats()
		return len(st.Partitions) == 1 && st.Partitions[0].LastError == errTransient.Error()
	})
	revoke()
	o := rc.waitN(t, 1)[0].Outcome
	if o.Status != Abandoned || o.Err != nil || o.Attempts != 1 {
		t.Fatalf("outcome %+v, want Abandoned after 1 attempt without error", o)
	}
}
