package gokaadapter

import (
	"context"
	"time"

	"github.com/lovoo/goka"
)

// guardSyncCallbacks is the processor's goka.WithContextWrapper. goka calls
// it on the partition goroutine for every callback, in delivery order.
//
// Async callbacks unwrap the guard at once (see dispatch). A callback that
// stays synchronous keeps it: before its first read of state, or its first
// write or emit, it waits until its key has no async record in flight, so
// that it sees the async records' state and its emits follow theirs.
func (a *Adapter) guardSyncCallbacks(ctx goka.Context) goka.Context {
	return &guardedContext{inner: ctx, keys: a.keys}
}

// guardedContext is a goka.Context that waits for the key's async work before
// touching state or emitting. It is used only on goka's partition goroutine,
// within the callback, like the context it wraps.
type guardedContext struct {
	inner  goka.Context
	keys   *keyTracker
	waited bool
}

func (g *guardedContext) Topic() goka.Stream       { return g.inner.Topic() }
func (g *guardedContext) Key() string              { return g.inner.Key() }
func (g *guardedContext) Partition() int32         { return g.inner.Partition() }
func (g *guardedContext) Offset() int64            { return g.inner.Offset() }
func (g *guardedContext) Group() goka.Group        { return g.inner.Group() }
func (g *guardedContext) Headers() goka.Headers    { return g.inner.Headers() }
func (g *guardedContext) Timestamp() time.Time     { return g.inner.Timestamp() }
func (g *guardedContext) Fail(err error)           { g.inner.Fail(err) }
func (g *guardedContext) Context() context.Context { return g.inner.Context() }
func (g *guardedContext) DeferCommit() func(error) { return g.inner.DeferCommit() }

func (g *guardedContext) waitForKey() {
	if g.waited {
		return
	}
	g.waited = true
	// An error means the partition is being revoked. The async records'
	// write-back stops at revocation, so the callback may go on.
	_ = g.keys.wait(g.inner.Context(), laneKey{g.inner.Partition(), g.inner.Key()})
}

func (g *guardedContext) Value() any {
	g.waitForKey()
	return g.inner.Value()
}

func (g *guardedContext) SetValue(value any, options ...goka.ContextOption) {
	g.waitForKey()
	g.inner.SetValue(value, options...)
}

func (g *guardedContext) Delete(options ...goka.ContextOption) {
	g.waitForKey()
	g.inner.Delete(options...)
}

func (g *guardedContext) Join(topic goka.Table) any {
	g.waitForKey()
	return g.inner.Join(topic)
}

func (g *guardedContext) Lookup(topic goka.Table, key string) any {
	g.waitForKey()
	return g.inner.Lookup(topic, key)
}

func (g *guardedContext) Emit(topic goka.Stream, key string, value any, options ...goka.ContextOption) {
	g.waitForKey()
	g.inner.Emit(topic, key, value, options...)
}

func (g *guardedContext) Loopback(key string, value any, options ...goka.ContextOption) {
	g.waitForKey()
	g.inner.Loopback(key, value, options...)
}

// unguarded returns goka's own context under the guard, if any.
func unguarded(ctx goka.Context) goka.Context {
	if g, ok := ctx.(*guardedContext); ok {
		return g.inner
	}
	return ctx
}

// hasSyncCallbacks reports whether graph may have a callback that Async did
// not wrap, and so needs guardSyncCallbacks. goka calls the context wrapper
// for every record, and the guard allocates; async callbacks unwrap it at
// once, and count every record in a.keys only for the guard to wait on. So
// in a graph of async callbacks only, both are pure cost.
//
// goka does not expose an edge's callback, so this counts: the callbacks of
// a graph are those of its input streams and its loop stream, and every
// callback returned by Async (or Input) was counted in a.wrapped. If there
// are exactly as many wrapped callbacks as callback-bearing edges, every
// edge has a wrapped one, on the assumption of the Adapter's contract that
// each wrapped callback is one edge's callback (see Async). More
// wrapped callbacks than edges (a wrapped callback left out, or used by
// another graph), or fewer (a sync edge, or one wrapped callback on two
// edges) keep the guard: it is the safe side.
func (a *Adapter) hasSyncCallbacks(graph *goka.GroupGraph) bool {
	edges := len(graph.InputStreams())
	if graph.LoopStream() != nil {
		edges++
	}
	return int(a.wrapped.Load()) != edges
}
