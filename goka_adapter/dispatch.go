package gokaadapter

import (
	"context"
	"errors"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// dispatch is the body of every wrapped callback. It runs on goka's
// partition goroutine, inside goka's callback, and is the only place that
// uses goka's context:
//
//  1. it copies the record's metadata;
//  2. it takes the record's deferred commit, so goka does not commit when
//     the callback returns, and registers the offset with the commit gate,
//     which keeps goka's other marks of the partition from passing it
//     (commit_gate.go); it checks that the record's key belongs to its
//     partition (partition_check.go);
//  3. it hands the record to the executor, which may block while the key,
//     the partition or the executor is full, after waiting while too many
//     records' writes wait for the producer (backpressure on the
//     consumer);
//  4. it returns, unless the deterministic mode waits for the release.
//
// The release, in delivery order per partition, turns the outcome into
// goka's commit: committable outcomes commit; abandoned records call the
// deferred commit too (goka waits for it) but their mark is dropped by the
// commit gate; the first failed record of a partition passes its error,
// which stops the processor as a goka callback error would, and the
// records after it are released as abandoned ones (failure.go).
func (a *Adapter) dispatch(gctx goka.Context, msg any, cb goka.ProcessCallback) {
	gctx = unguarded(gctx)
	graph, guarded := a.graph()
	if graph == nil {
		gctx.Fail(ErrUnwrappedProcessor)
		return
	}
	r := &asyncRecord{a: a, graph: graph, guarded: guarded, msg: msg, cb: cb, rec: snapshotRecord(gctx)}
	r.trace = a.cfg.tracing.StartRecord(r.rec.tracingMessage()) // nil if tracing is off
	assignment := gctx.Context()
	r.assignment = assignment
	r.commit = gctx.DeferCommit()
	if a.cfg.deterministic {
		r.released = make(chan struct{})
	}
	r.generation = a.gate.generation.Load()
	gp := a.gate.lookup(r.rec.Topic, r.rec.Partition)
	if gp == nil {
		gp = a.gate.add(r.rec.Partition, a.newGatedPartition(graph, r.rec.Topic))
	}
	if gp.marked {
		// Before the record is submitted, and before goka delivers (and
		// may mark) the next record of the partition: see commitGate.
		gp.hold(r.rec.Offset)
		r.expectedPartition, r.mispartitioned = a.checkPartition(gp, &r.rec)
	}

	if r.guarded {
		a.keys.add(r.lane())
	}
	task := asyncdsl.Task{
		Record: r.rec.executorRecord(),
		Ctx:    assignment,
		Work:   r, // one value, not three method values: no allocation
	}
	if r.trace != nil {
		// The executor's hooks find the record's trace here; the hook
		// ends it when the record is released. Set only when tracing is
		// on: a nil *tracing.Record would make a non-nil RecordTrace.
		task.Record.Trace = r.trace
	}
	// Wait while the producer is the bottleneck (emitter.go), then hand
	// the record over.
	err := a.emitter.queue(r.rec.Partition).waitRoom(assignment)
	if err == nil {
		err = a.executor.Submit(assignment, task)
	}
	if err != nil {
		// The record was not registered: the assignment ended or the
		// executor closed while the submit waited for capacity (abandon
		// it; the next owner reprocesses it), or the task was invalid.
		o := asyncdsl.Outcome{Status: asyncdsl.Failed, Err: err}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, asyncdsl.ErrClosed) {
			o = asyncdsl.Outcome{Status: asyncdsl.Abandoned}
		}
		r.Release(o)
		r.trace.End(o, 0) // no hook sees a record the executor did not accept
	}
	if r.released != nil {
		<-r.released
	}
}

// asyncRecord is one record handed to the executor, as the task's
// asyncdsl.Work: everything its Attempt, DeadLetter and Release need, in one
// allocation per record. Its fields are written by dispatch, on goka's
// partition goroutine, before Submit publishes the task, and only read
// afterwards, except first (below).
type asyncRecord struct {
	a          *Adapter
	graph      *goka.GroupGraph
	guarded    bool // the processor has the sync guard: count the record in a.keys
	rec        recordMeta
	trace      *tracing.Record // nil if tracing is off
	msg        any
	cb         goka.ProcessCallback
	assignment context.Context // goka's context of the record's partition assignment
	commit     func(error)     // goka's deferred commit of the record
	released   chan struct{}   // deterministic mode: closed by release

	// mispartitioned is set under WithStrictPartitioning for a record whose
	// key belongs to expectedPartition: its attempt fails permanently.
	mispartitioned    bool
	expectedPartition int32
	// generation is the commit gate's session generation at dispatch.
	generation int32

	// first is the state of attempt 1, allocated with the record since
	// most records need just one attempt. Attempt 1 is its only user;
	// later attempts allocate their own, because user code may still call
	// a DeferCommit func of a failed attempt, and an attempt the executor
	// gave up on (it ignored its context past its deadline) may still be
	// running, writing into its own buffer, which is never applied.
	first attemptState
}

func (r *asyncRecord) lane() laneKey { return laneKey{r.rec.Partition, r.rec.Key} }

// Release is the task's Release: it turns the outcome into goka's commit.
func (r *asyncRecord) Release(o asyncdsl.Outcome) {
	if r.guarded {
		r.a.keys.done(r.lane())
	}
	switch {
	case o.Committable():
		if o.Status != asyncdsl.Done {
			r.a.log.released(r.rec, o) // skipped, or a reduced dead letter
		}
		r.commit(nil)
	case o.Status == asyncdsl.Abandoned:
		r.a.gate.abandon(r.rec.Topic, r.rec.Partition, r.rec.Offset, r.generation)
		r.commit(nil)
	default:
		r.a.releaseFailed(r, o) // failure.go: goka gets the partition's first error only
	}
	if r.released != nil {
		close(r.released)
	}
}

// Attempt is the task's Attempt: it runs the user's callback once, on a
// worker, with a proxy context.
func (r *asyncRecord) Attempt(ctx context.Context, n int) (asyncdsl.Apply, error) {
	if u, ok := r.msg.(undecodable); ok {
		return nil, asyncdsl.Permanent(&DecodeError{
			Coordinates: r.rec.Coordinates, Err: u.err,
		})
	}
	if r.mispartitioned {
		return nil, asyncdsl.Permanent(&MispartitionedError{
			Coordinates: r.rec.Coordinates, Expected: r.expectedPartition,
		})
	}
	st := &r.first
	if n != 1 {
		st = new(attemptState)
	}
	st.init(r.trace.AttemptContext(ctx, n), r.a, r.graph, &r.rec)
	p := &st.proxy
	if err := p.runCallback(r.cb, r.msg); err != nil {
		return nil, err
	}
	return r.trace.WriteBack(p.effects.apply(r.a, r.rec.Partition, r.trace, r.assignment), len(p.effects.ops)), nil
}

// DeadLetter is the task's DeadLetter.
func (r *asyncRecord) DeadLetter(_ context.Context, cause error) (asyncdsl.Apply, error) {
	apply, err := r.a.deadLetter(r.graph, r.rec, r.trace, r.msg, cause, r.assignment)
	return r.trace.DeadLetter(apply), err
}

// attemptState is the proxy context of one attempt with its buffered
// effects, in one allocation.
type attemptState struct {
	proxy   proxyContext
	effects effects
}

func (st *attemptState) init(ctx context.Context, a *Adapter, graph *goka.GroupGraph, rec *recordMeta) {
	st.proxy = proxyContext{ctx: ctx, adapter: a, graph: graph, rec: rec, effects: &st.effects}
	st.effects.ops = st.effects.inline[:0]
}
