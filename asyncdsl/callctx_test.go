package asyncdsl

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCallCtxBehavesLikeWithTimeout runs the same scenarios against
// context.WithTimeout (with its CancelFunc) and callCtx (with cancel), and
// checks that what a caller can observe is the same.
func TestCallCtxBehavesLikeWithTimeout(t *testing.T) {
	type call struct {
		ctx    context.Context
		cancel func()
	}
	impls := []struct {
		name string
		make func(parent context.Context, d time.Duration) call
	}{
		{"context.WithTimeout", func(parent context.Context, d time.Duration) call {
			ctx, cancel := context.WithTimeout(parent, d)
			return call{ctx, cancel}
		}},
		{"callCtx", func(parent context.Context, d time.Duration) call {
			c := newCallCtx(parent, d)
			return call{c, c.cancel}
		}},
	}
	tests := []struct {
		name    string
		timeout time.Duration
		// end ends the call's context; parentCancel cancels its parent.
		end        func(c call, parentCancel context.CancelFunc)
		wantErr    error
		wantCause  error
		armFirst   bool // call Done before ending (arms the timer)
		deriveWith bool // check a context derived from the call's too
	}{
		{"alive", time.Hour, func(call, context.CancelFunc) {}, nil, nil, false, true},
		{"cancelled by the call's end", time.Hour, func(c call, _ context.CancelFunc) { c.cancel() }, context.Canceled, context.Canceled, false, true},
		{"cancelled by the call's end, armed", time.Hour, func(c call, _ context.CancelFunc) { c.cancel() }, context.Canceled, context.Canceled, true, true},
		{"parent cancelled", time.Hour, func(_ call, cancel context.CancelFunc) { cancel() }, context.Canceled, context.Canceled, false, true},
		{"parent cancelled, armed", time.Hour, func(_ call, cancel context.CancelFunc) { cancel() }, context.Canceled, context.Canceled, true, true},
		{"deadline passed", time.Millisecond, func(c call, _ context.CancelFunc) { <-c.ctx.Done() }, context.DeadlineExceeded, context.DeadlineExceeded, false, true},
		{"deadline passed, then the call's end", time.Millisecond, func(c call, _ context.CancelFunc) {
			<-c.ctx.Done()
			c.cancel()
		}, context.DeadlineExceeded, context.DeadlineExceeded, false, true},
	}
	for _, tt := range tests {
		for _, impl := range impls {
			t.Run(tt.name+"/"+impl.name, func(t *testing.T) {
				parent, parentCancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
				defer parentCancel()
				c := impl.make(parent, tt.timeout)
				defer c.cancel()
				if d, ok := c.ctx.Deadline(); !ok || time.Until(d) > tt.timeout {
					t.Errorf("Deadline = %v, %v; want within %s", d, ok, tt.timeout)
				}
				if got := c.ctx.Value(ctxKey{}); got != "v" {
					t.Errorf("Value = %v, want the parent's", got)
				}
				if tt.armFirst {
					_ = c.ctx.Done()
				}
				var derived context.Context
				if tt.deriveWith {
					var cancel context.CancelFunc
					derived, cancel = context.WithCancel(c.ctx)
					defer cancel()
				}
				ran := make(chan struct{})
				context.AfterFunc(c.ctx, func() { close(ran) })
				tt.end(c, parentCancel)

				if err := c.ctx.Err(); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("Err = %v, want %v", err, tt.wantErr)
				}
				if cause := context.Cause(c.ctx); cause != tt.wantCause {
					t.Errorf("Cause = %v, want %v", cause, tt.wantCause)
				}
				if tt.wantErr == nil {
					select {
					case <-c.ctx.Done():
						t.Fatal("Done closed while alive")
					default:
					}
					return
				}
				<-c.ctx.Done()
				<-ran // AfterFunc ran
				if derived != nil {
					<-derived.Done()
					if err := derived.Err(); err != tt.wantErr {
						t.Errorf("derived Err = %v, want %v", err, tt.wantErr)
					}
					if cause := context.Cause(derived); cause != tt.wantCause {
						t.Errorf("derived Cause = %v, want %v", cause, tt.wantCause)
					}
				}
			})
		}
	}
}

type ctxKey struct{}

// TestCallCtxParentDeadline checks that an earlier deadline of the parent
// is reported and ends the call's context, as with context.WithTimeout.
func TestCallCtxParentDeadline(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	pd, _ := parent.Deadline()
	c := newCallCtx(parent, time.Hour)
	defer c.cancel()
	if d, ok := c.Deadline(); !ok || !d.Equal(pd) {
		t.Errorf("Deadline = %v, %v; want the parent's %v", d, ok, pd)
	}
	<-c.Done()
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("Err = %v, want DeadlineExceeded", err)
	}
}

// TestCallCtxErrWithoutDone checks that Err reports the deadline by the
// clock when nobody armed the timer, and that Done is closed then.
func TestCallCtxErrWithoutDone(t *testing.T) {
	c := newCallCtx(context.Background(), time.Nanosecond)
	defer c.cancel()
	d, _ := c.Deadline()
	for time.Now().Before(d) { // a nanosecond: no sleep needed
	}
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Err reported the deadline")
	}
	c.cancel()
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("Err after cancel = %v, want DeadlineExceeded still", err)
	}
}

// TestCallCtxAfterFuncStop checks AfterFunc's stop, as context.AfterFunc's.
func TestCallCtxAfterFuncStop(t *testing.T) {
	c := newCallCtx(context.Background(), time.Hour)
	stop := c.AfterFunc(func() { t.Error("stopped AfterFunc ran") })
	if !stop() {
		t.Error("first stop = false, want true")
	}
	if stop() {
		t.Error("second stop = true, want false")
	}
	c.cancel()
	ran := make(chan struct{})
	stop = c.AfterFunc(func() { close(ran) })
	<-ran // registered after the end: runs at once
	if stop() {
		t.Error("stop after the run = true, want false")
	}
}

func TestCancelCtxKeyFound(t *testing.T) {
	if cancelCtxKey == nil {
		t.Skip("this Go's context.Cause does not look up its key; callCtx.Value delegates")
	}
	if _, ok := cancelCtxKey.(*int); !ok {
		t.Errorf("cancelCtxKey is a %T, want the context package's *int", cancelCtxKey)
	}
}
