package asyncdsl

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of one attempt or dead-letter call under a call
// timeout: it behaves as context.WithTimeout(parent, timeout) followed by the
// cancel when the call returns, but it allocates one object and starts no
// timer unless somebody asks for Done (or derives a context, which asks for
// it). A call that never selects on its context, as most calls that do not
// block on I/O, costs no timer, and no registration with the parent (a
// shared cancelCtx whose mutex every worker of the assignment would take).
//
// Observable behaviour, as with context.WithTimeout:
//
//   - Deadline is the earlier of the parent's deadline and the call's;
//   - Err is nil while the parent is alive, the deadline has not passed and
//     the call runs; then the parent's error, DeadlineExceeded or Canceled,
//     whichever came first, and the same error ever after;
//   - Done is closed exactly when Err becomes non-nil;
//   - context.Cause is Err (the context package finds no cancelCtx of its
//     own under this one, see Value), and contexts derived from it are
//     cancelled with its Err, through AfterFunc.
//
// Err checks the clock, so it reports DeadlineExceeded from the deadline on
// even if nobody armed the timer.
//
// All fields after mu are guarded by it. The deadline and parent are set
// before the context is handed to user code and never change.
type callCtx struct {
	parent   context.Context
	deadline time.Time // the call's own; Deadline may report the parent's

	mu         sync.Mutex
	err        error         // set once, by end
	done       chan struct{} // created by the first Done; closed by end
	timer      *time.Timer   // armed by the first Done while alive
	stopParent func() bool   // likewise, the parent's AfterFunc
	afterFuncs []*afterFunc  // registered by AfterFunc, run by end
}

// afterFunc is one function registered with callCtx.AfterFunc. finished is
// guarded by the callCtx's mu: set when it was started or stopped.
type afterFunc struct {
	f        func()
	finished bool
}

func newCallCtx(parent context.Context, timeout time.Duration) *callCtx {
	c := new(callCtx)
	c.init(parent, timeout)
	return c
}

// init sets up a zero callCtx in place, before it is handed to user code.
func (c *callCtx) init(parent context.Context, timeout time.Duration) {
	c.parent, c.deadline = parent, time.Now().Add(timeout)
}

func (c *callCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if c.err != nil { // ended before anybody asked for Done
		close(c.done)
		return c.done
	}
	if c.checkLocked() {
		return c.done // checkLocked ended it and closed it
	}
	// Arm both ends: the deadline and the parent's cancellation.
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
	c.stopParent = context.AfterFunc(c.parent, func() { c.end(c.parent.Err()) })
	return c.done
}

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkLocked()
	return c.err
}

// Value is the parent's, except that the context package's private key for
// the nearest cancelCtx finds none: this context is not backed by one, so
// context.Cause must fall back to Err and derived contexts must register
// through AfterFunc, not with the parent's cancelCtx (whose Done is not
// this context's).
func (c *callCtx) Value(key any) any {
	if key == cancelCtxKey {
		return nil
	}
	return c.parent.Value(key)
}

func (c *callCtx) String() string { return "asyncdsl.callCtx" }

// AfterFunc arranges to call f in its own goroutine once the context is
// done, as context.AfterFunc does; the context package uses it for the
// contexts derived from this one. stop reports whether it stopped f from
// being started.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.Done() // arm the timer and the parent's cancellation
	c.mu.Lock()
	defer c.mu.Unlock()
	af := &afterFunc{f: f}
	if c.err != nil {
		af.finished = true
		go f()
	} else {
		c.afterFuncs = append(c.afterFuncs, af)
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if af.finished {
			return false
		}
		af.finished = true
		return true
	}
}

// cancel ends the context with Canceled unless it ended already. The worker
// calls it when the call returns.
func (c *callCtx) cancel() { c.end(context.Canceled) }

// end ends the context with err unless it ended already.
func (c *callCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.endLocked(err)
	}
}

// checkLocked ends the context if its parent ended or its deadline passed,
// and reports whether it has ended.
func (c *callCtx) checkLocked() bool {
	if c.err != nil {
		return true
	}
	if err := c.parent.Err(); err != nil {
		c.endLocked(err)
		return true
	}
	if !time.Now().Before(c.deadline) {
		c.endLocked(context.DeadlineExceeded)
		return true
	}
	return false
}

// endLocked records err, closes Done, stops the timer and the parent's
// AfterFunc, and starts the AfterFuncs. c.err must be nil.
func (c *callCtx) endLocked(err error) {
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.stopParent != nil {
		c.stopParent()
		c.stopParent = nil
	}
	for _, af := range c.afterFuncs {
		if !af.finished {
			af.finished = true
			go af.f()
		}
	}
	c.afterFuncs = nil
}

// cancelCtxKey is the key under which the context package looks up the
// nearest cancelCtx of a context (context.Cause, and the propagation of
// cancellation to derived contexts, do). It is unexported; this finds it by
// asking context.Cause about a context that records the key it is asked
// for. Should a later Go not ask, it is nil, which no Value call uses, and
// callCtx.Value just delegates.
var cancelCtxKey = func() any {
	p := &keyProbe{Context: context.Background()}
	_ = context.Cause(p)
	return p.key
}()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}

// callContext is the context of one attempt or dead-letter call: the
// assignment's runCtx (cancelled by revocation and Close) with the call
// timeout, as context.WithTimeout would make it but cheaper (callctx.go).
// Pass it to endCall when the call returns.
func (e *Executor) callContext(a *assignment) context.Context {
	if e.cfg.callTimeout > 0 {
		return newCallCtx(a.runCtx, e.cfg.callTimeout)
	}
	return a.runCtx
}

// endCall cancels the context of a call that returned, as the CancelFunc
// of context.WithTimeout would.
func endCall(ctx context.Context) {
	if c, ok := ctx.(*callCtx); ok {
		c.cancel()
	}
}
