package asyncdsl

import (
	"context"
	"runtime/debug"

	"github.com/riffle-streams/riffle/internal/panics"
)

// User code (Attempt, Apply, DeadLetter) runs on workers through these
// wrappers, which turn a panic into a *PanicError carrying the stack of the
// panicking goroutine, so that one bad record cannot kill the executor.
// debug.Stack, called by panics.Catch's callback while the panic is in
// progress, still sees the frames of the panicking call, so the stack names
// the function that panicked.

func callAttempt(ctx context.Context, w Work, n int) (apply Apply, err error) {
	defer panics.Catch(func(r any) { apply, err = nil, &PanicError{Value: r, Stack: debug.Stack()} })
	return w.Attempt(ctx, n)
}

func callDeadLetter(ctx context.Context, w Work, cause error) (apply Apply, err error) {
	defer panics.Catch(func(r any) { apply, err = nil, &PanicError{Value: r, Stack: debug.Stack()} })
	return w.DeadLetter(ctx, cause)
}

// callApply returns the panic of apply, or nil.
func callApply(apply Apply, done func(error)) (err error) {
	defer panics.Catch(func(r any) { err = &PanicError{Value: r, Stack: debug.Stack()} })
	apply(done)
	return nil
}
