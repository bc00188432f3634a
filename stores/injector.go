package stores

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Faults says what an Injector does to each call.
type Faults struct {
	// Latency is added to every call, before it reaches the store.
	Latency time.Duration
	// Jitter adds a uniformly drawn extra delay in [0, Jitter).
	Jitter time.Duration
	// ErrorRate is the fraction of calls (0 to 1) that fail with a
	// *TransientError, after their delay, without reaching the store.
	ErrorRate float64
	// TimeoutRate is the fraction of calls (0 to 1) that never reach the
	// store: they block until their context is done and fail with its
	// error, as a call to a server that does not answer. ErrorRate +
	// TimeoutRate must not exceed 1. Give such calls a deadline (the
	// executor's call timeout does).
	TimeoutRate float64
	// Seed seeds the random draws. For a given seed, the n-th call through
	// the Injector always gets the same delay and fault; with concurrent
	// callers, which call is the n-th depends on scheduling.
	Seed uint64
}

// InjectorStats counts what an Injector did.
type InjectorStats struct {
	Calls    uint64        // calls that went through Inject
	Errors   uint64        // calls failed with a *TransientError
	Timeouts uint64        // calls held until their context ended
	Delay    time.Duration // total latency drawn (waited or cut short)
}

// Injector adds latency and faults to store calls, for tests and
// benchmarks. Wrap a store with InjectKeyValue or InjectWindow, or call
// Inject around any other remote call. One Injector may serve several stores:
// they share its random sequence and its stats. It is safe for concurrent
// use and starts no goroutine.
type Injector struct {
	faults Faults

	mu struct {
		sync.Mutex
		rng *rand.Rand
	}

	calls, errors, timeouts atomic.Uint64
	delay                   atomic.Int64
}

// NewInjector validates f and returns an Injector.
func NewInjector(f Faults) (*Injector, error) {
	var p problems
	if f.Latency < 0 {
		p.addf("Faults.Latency %v is negative", f.Latency)
	}
	if f.Jitter < 0 {
		p.addf("Faults.Jitter %v is negative", f.Jitter)
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) {
		p.addf("Faults.ErrorRate %v is not within [0, 1]", f.ErrorRate)
	}
	if !(f.TimeoutRate >= 0 && f.TimeoutRate <= 1) {
		p.addf("Faults.TimeoutRate %v is not within [0, 1]", f.TimeoutRate)
	}
	if f.ErrorRate+f.TimeoutRate > 1 {
		p.addf("Faults.ErrorRate + Faults.TimeoutRate = %v exceeds 1", f.ErrorRate+f.TimeoutRate)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	in := &Injector{faults: f}
	in.mu.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	return in, nil
}

// fault is what happens to one call.
type fault int

const (
	faultNone fault = iota
	faultError
	faultTimeout
)

// draw decides one call's delay and fault. Both come from one locked
// sequence, so that the n-th call's draw depends only on the seed.
func (in *Injector) draw() (time.Duration, fault) {
	f := in.faults
	in.mu.Lock()
	var j, u float64
	if f.Jitter > 0 {
		j = in.mu.rng.Float64()
	}
	if f.ErrorRate > 0 || f.TimeoutRate > 0 {
		u = in.mu.rng.Float64()
	}
	in.mu.Unlock()
	d := f.Latency + time.Duration(j*float64(f.Jitter))
	switch {
	case u < f.ErrorRate:
		return d, faultError
	case u < f.ErrorRate+f.TimeoutRate:
		return d, faultTimeout
	default:
		return d, faultNone
	}
}

// Inject applies one call's faults: it waits the drawn delay, then returns
// nil (the call may proceed), a *TransientError, or, for a drawn timeout,
// waits for ctx to end. It returns early, with an *OpError wrapping ctx's
// error, when ctx ends while it waits. op and key only label errors.
func (in *Injector) Inject(ctx context.Context, op, key string) error {
	in.calls.Add(1)
	d, f := in.draw()
	in.delay.Add(int64(d))
	if err := sleepCtx(ctx, d); err != nil {
		return &OpError{Store: "injector", Op: op, Key: key, Err: err}
	}
	switch f {
	case faultError:
		in.errors.Add(1)
		return &TransientError{Op: op, Key: key}
	case faultTimeout:
		in.timeouts.Add(1)
		<-ctx.Done()
		return &OpError{Store: "injector", Op: op, Key: key, Err: ctx.Err()}
	}
	return nil
}

// Stats returns the counts so far.
func (in *Injector) Stats() InjectorStats {
	return InjectorStats{
		Calls:    in.calls.Load(),
		Errors:   in.errors.Load(),
		Timeouts: in.timeouts.Load(),
		Delay:    time.Duration(in.delay.Load()),
	}
}

// sleepCtx waits for d or until ctx ends, whichever comes first, and returns
// ctx's error in the latter case. The timer is stopped either way.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// InjectKeyValue returns kv with in's faults applied before every call.
func InjectKeyValue[V any](kv KeyValue[V], in *Injector) KeyValue[V] {
	return &faultyKeyValue[V]{kv: kv, in: in}
}

type faultyKeyValue[V any] struct {
	kv KeyValue[V]
	in *Injector
}

func (f *faultyKeyValue[V]) Get(ctx context.Context, key string) (V, bool, error) {
	if err := f.in.Inject(ctx, "get", key); err != nil {
		var zero V
		return zero, false, err
	}
	return f.kv.Get(ctx, key)
}

func (f *faultyKeyValue[V]) Put(ctx context.Context, key string, v V) error {
	if err := f.in.Inject(ctx, "put", key); err != nil {
		return err
	}
	return f.kv.Put(ctx, key, v)
}

func (f *faultyKeyValue[V]) Delete(ctx context.Context, key string) error {
	if err := f.in.Inject(ctx, "delete", key); err != nil {
		return err
	}
	return f.kv.Delete(ctx, key)
}

// InjectWindow returns w with in's faults applied before every call.
func InjectWindow(w Window, in *Injector) Window {
	return &faultyWindow{w: w, in: in}
}

type faultyWindow struct {
	w  Window
	in *Injector
}

func (f *faultyWindow) SeenOrAdd(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := f.in.Inject(ctx, "seen-or-add", id); err != nil {
		return false, err
	}
	return f.w.SeenOrAdd(ctx, id, at)
}
