package asyncdsl

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Executor runs Tasks with per-lane order, bounded concurrency and an
// in-order release per partition assignment. Create it with New and stop it
// with Close.
//
// # Concurrency
//
// One mutex, e.mu, guards all shared bookkeeping: lanes, watermarks,
// counters, the ready queue and every task field documented as "guarded by
// e.mu". It is never held while user code runs (Attempt, Apply, DeadLetter,
// Release, hooks), so user code may call Stats, and Release may run on any
// goroutine. The only other locks are:
//
//   - assignment.gate, an RWMutex read-held by a worker around one Apply and
//     write-held by the revoking watcher for a moment (see assignment.go).
//     Lock order: gate before e.mu; nothing takes gate while holding e.mu.
//   - e.rng.mu, a leaf lock around the jitter source;
//   - callCtx.mu, a leaf lock of each call's context (callctx.go), taken by
//     the worker when the call returns, by the sweeper when it ends a
//     detached call (after releasing e.mu), and by user code that asks the
//     context for Done or Err; never held while taking another lock other
//     than the parent context's own.
//
// One atomic decides who owns an attempt's outcome: worker.phase
// (detach.go), moved by CAS out of callRunning either by the worker when
// its call returns or by a detacher (the sweeper, or a watcher at the
// drain deadline). Exactly one wins; the loser does nothing.
//
// Goroutines owned by the executor, all counted in e.wg:
//
//   - workers (worker.go), at most cfg.workers, started lazily when ready
//     work finds no idle worker. A takeover goroutine (sweeper.go) that
//     replaces a worker detached in user code is one of them: it inherits
//     the stuck worker's share of e.wg and its count in e.mu.workers, so no
//     wg.Add happens and workers stay bounded by cfg.workers;
//   - one watcher per assignment (assignment.go), started by the Submit that
//     creates the assignment, ending once its revocation is complete;
//   - the sweeper (sweeper.go), one per executor with a call timeout,
//     started with the first worker, ending when Close begins.
//
// Everything that registers a goroutine in e.wg does so under e.mu after
// checking that Close has not begun, so wg.Add never races with wg.Wait.
//
// Goroutines detached in user code (detach.go) are not owned any more:
// they are not in e.wg and Close does not wait for them, because Go cannot
// stop a goroutine and user code that ignores its context may never return.
// They are counted (Stats.Stuck) until their code returns; they then touch
// only that count and leave, discarding the attempt's result, so a detached
// attempt never applies effects. WithMaxStuck bounds how many there are
// before partitions fail instead.
type Executor struct {
	cfg config
	// hooks split by interface at New, so the hot path does no type switch.
	submitHooks  []SubmitHook
	startHooks   []StartHook
	attemptHooks []AttemptHook
	releaseHooks []ReleaseHook
	hooked       bool // any hook that needs timestamps

	epoch time.Time // origin of the monotonic timestamps in task

	// closing is closed when Close begins. Watchers select on it (and then
	// cancel their assignment's attempts); workers are told through e.mu.
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	rng struct {
		sync.Mutex
		r *rand.Rand
	}

	mu struct {
		sync.Mutex
		closed bool

		// current assignment per (topic, partition): the one new tasks
		// with the same Ctx join. A revoked one is removed at once; it
		// stays in all until its watcher has finished with it.
		current map[tpKey]*assignment
		all     map[*assignment]struct{}
		lanes   map[laneKey]*lane
		free    []*lane // recycled lanes, to keep a lane per burst of a key cheap

		// lane heads waiting for a worker, and tasks whose write was
		// refused, put back by a done callback for a worker to write their
		// dead letter (refused.go)
		ready readyQueue

		// workers started, and workers blocked in workAvailable.Wait not yet
		// signalled. A Signal consumes one idle worker at once, so two
		// pushes never both count on the same sleeper. waking counts the
		// worker signalled or started and not yet back at the ready queue
		// (at most one, see wakeWorkerLocked).
		workers       int
		idle          int
		waking        int
		workAvailable sync.Cond

		pending int // submitted, not yet released
		running int // held by a worker
		queued  int // in a lane or requeued, not yet taken by a worker

		counts Counts // totals since New, for Stats

		// calls lists the workers in an attempt call, in the order they
		// entered it, which is the order of their deadlines (detach.go).
		calls    callList
		sweeping bool // the sweeper was started (sweeper.go)

		// Detached calls (detach.go): stuck counts the goroutines detached
		// in user code that have not returned yet; detachedCalls every
		// call detached so far, discarded the results of those that
		// returned since.
		stuck         int
		detachedCalls int64
		discarded     int64

		// changed is closed (and set to nil) whenever pending drops or
		// Close begins; Submits waiting for capacity and Drain wait on it.
		// It is created only when somebody waits, so releases that nobody
		// waits for allocate nothing.
		changed chan struct{}
	}
}

// New validates the options and returns a running Executor. It starts no
// goroutine until the first Submit.
func New(opts ...Option) (*Executor, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.maxStuck == 0 {
		cfg.maxStuck = cfg.workers
	}
	if cfg.detachGrace == 0 { // a test may have set it
		cfg.detachGrace = detachGrace(cfg.callTimeout)
	}
	e := &Executor{
		cfg:     cfg,
		epoch:   time.Now(),
		closing: make(chan struct{}),
	}
	for _, h := range cfg.hooks {
		if h, ok := h.(SubmitHook); ok {
			e.submitHooks = append(e.submitHooks, h)
		}
		if h, ok := h.(StartHook); ok {
			e.startHooks = append(e.startHooks, h)
			e.hooked = true
		}
		if h, ok := h.(AttemptHook); ok {
			e.attemptHooks = append(e.attemptHooks, h)
		}
		if h, ok := h.(ReleaseHook); ok {
			e.releaseHooks = append(e.releaseHooks, h)
			e.hooked = true
		}
	}
	seed := uint64(cfg.seed)
	if cfg.seed == 0 {
		seed = rand.Uint64()
	}
	e.rng.r = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e.mu.current = make(map[tpKey]*assignment)
	e.mu.all = make(map[*assignment]struct{})
	e.mu.lanes = make(map[laneKey]*lane)
	e.mu.workAvailable.L = &e.mu.Mutex
	return e, nil
}

// ErrorPolicy returns the configured policy for tasks whose attempts are
// exhausted, so that callers can prepare what the policy needs (a
// dead-letter topic).
func (e *Executor) ErrorPolicy() ErrorPolicy { return e.cfg.policy }

// now is a monotonic timestamp in nanoseconds since New.
func (e *Executor) now() int64 { return int64(time.Since(e.epoch)) }

func nanos(d int64) time.Duration { return time.Duration(d) }

// waitChangeLocked returns a channel closed at the next capacity change.
// e.mu must be held.
func (e *Executor) waitChangeLocked() <-chan struct{} {
	if e.mu.changed == nil {
		e.mu.changed = make(chan struct{})
	}
	return e.mu.changed
}

// broadcastLocked wakes everything waiting in waitChangeLocked. e.mu must be
// held.
func (e *Executor) broadcastLocked() {
	if e.mu.changed != nil {
		close(e.mu.changed)
		e.mu.changed = nil
	}
}

// Drain waits until every submitted task has been released, or ctx ends.
// Tasks submitted while Drain waits are waited for too.
func (e *Executor) Drain(ctx context.Context) error {
	e.mu.Lock()
	for e.mu.pending > 0 {
		ch := e.waitChangeLocked()
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		e.mu.Lock()
	}
	e.mu.Unlock()
	return nil
}

// Close stops accepting tasks (Submit returns ErrClosed), abandons queued
// tasks, cancels running attempts, waits up to the drain timeout for running
// attempts and unacknowledged writes, releases everything unreleased as
// Abandoned (in order per assignment), then waits for every goroutine the
// executor started. Every Release has returned when Close returns.
//
// Close returns within about the drain timeout even if an Attempt ignores
// its cancelled context: at the drain deadline such an attempt is detached
// (its goroutine stays stuck in user code, counted in Stats.Stuck, and its
// result is discarded when it returns). Apply and DeadLetter must not block
// (see Task): Close waits for them. Close is idempotent; later calls wait
// like the first.
func (e *Executor) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.mu.closed = true
		e.broadcastLocked()            // blocked Submits return ErrClosed
		e.mu.idle = 0                  // every sleeper is woken below
		e.mu.workAvailable.Broadcast() // idle workers exit
		e.mu.Unlock()
		// Every watcher now revokes its assignment: it cancels the
		// attempts, abandons queued tasks, drains, and releases.
		close(e.closing)
	})
	// The watchers guarantee that every task is finished within the drain
	// timeout; the goroutine releasing the last prefix may be a done
	// callback's, which e.wg does not count, so wait for the releases too.
	_ = e.Drain(context.Background())
	e.wg.Wait()
	return nil
}
