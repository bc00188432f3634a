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
//     the callback returns;
//  3. it hands the record to the executor, which may block while the key,
//     the partition or the executor is full (backpressure on the consumer);
//  4. it returns, unless the deterministic mode waits for the release.
//
// The release, in delivery order per partition, turns the outcome into
// goka's commit: committable outcomes commit; abandoned records call the
// deferred commit too (goka waits for it) but their mark is dropped by the
// commit gate; failed records pass their error, which stops the processor
// as a goka callback error would.
func (a *Adapter) dispatch(gctx goka.Context, msg any, cb goka.ProcessCallback) {
	gctx = unguarded(gctx)
	graph := a.graph()
	if graph == nil {
		gctx.Fail(ErrUnwrappedProcessor)
		return
	}
	rec := snapshotRecord(gctx)
	trace := a.cfg.tracing.StartRecord(rec.tracingMessage()) // nil if tracing is off
	lane := laneKey{rec.partition, rec.key}
	assignment := gctx.Context()
	commit := gctx.DeferCommit()

	var released chan struct{}
	if a.cfg.deterministic {
		released = make(chan struct{})
	}
	release := func(o asyncdsl.Outcome) {
		a.keys.done(lane)
		switch {
		case o.Committable():
			commit(nil)
		case o.Status == asyncdsl.Abandoned:
			a.gate.abandon(string(rec.topic), rec.partition, rec.offset)
			commit(nil)
		default:
			commit(o.Err)
		}
		if released != nil {
			close(released)
		}
	}

	a.keys.add(lane)
	task := asyncdsl.Task{
		Record: rec.executorRecord(),
		Ctx:    assignment,
		Attempt: func(ctx context.Context, n int) (asyncdsl.Apply, error) {
			return a.attempt(trace.AttemptContext(ctx, n), graph, rec, trace, msg, cb)
		},
		DeadLetter: func(ctx context.Context, cause error) (asyncdsl.Apply, error) {
			apply, err := a.deadLetter(graph, rec, trace, msg, cause)
			return trace.DeadLetter(apply), err
		},
		Release: release,
	}
	if trace != nil {
		// The executor's hooks find the record's trace here; the hook
		// ends it when the record is released.
		task.Record.Tag = trace
	}
	err := a.executor.Submit(assignment, task)
	if err != nil {
		// The record was not registered: the assignment ended or the
		// executor closed while the submit waited for capacity (abandon
		// it; the next owner reprocesses it), or the task was invalid.
		o := asyncdsl.Outcome{Status: asyncdsl.Failed, Err: err}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, asyncdsl.ErrClosed) {
			o = asyncdsl.Outcome{Status: asyncdsl.Abandoned}
		}
		release(o)
		trace.End(o, 0) // no hook sees a record the executor did not accept
	}
	if released != nil {
		<-released
	}
}

// attempt runs the user's callback once, on a worker, with a proxy context.
// trace is the record's trace, nil if tracing is off.
func (a *Adapter) attempt(ctx context.Context, graph *goka.GroupGraph, rec recordMeta, trace *tracing.Record, msg any, cb goka.ProcessCallback) (asyncdsl.Apply, error) {
	if u, ok := msg.(undecodable); ok {
		return nil, asyncdsl.Permanent(&DecodeError{
			Topic: string(rec.topic), Partition: rec.partition, Offset: rec.offset, Key: rec.key, Err: u.err,
		})
	}
	p := &proxyContext{ctx: ctx, adapter: a, graph: graph, rec: rec, effects: &effects{}}
	if err := p.runCallback(cb, msg); err != nil {
		return nil, err
	}
	return trace.WriteBack(p.effects.apply(a, rec.partition, trace), len(p.effects.ops)), nil
}
