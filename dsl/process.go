package dsl

import (
	"context"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// runCtx is what a step sees of the record being processed: goka's context of
// the group callback (in an async group, the adapter's proxy of it).
type runCtx struct {
	g goka.Context
}

// Record is the metadata of the record that a group consumed. Its Key is
// the consumed record's key: a step may see another key after SelectKey or
// Map (StepContext.Key).
type Record struct {
	riffle.Coordinates
	Timestamp time.Time
	Headers   map[string][]byte
}

// StepContext is what every Process and ProcessValues step can use besides
// its input: the key, the consumed record's metadata, a context for remote
// calls, and (through a Store) the group's state.
type StepContext struct {
	rc  *runCtx
	n   *node
	key string
}

// Key returns the key of the step's input.
func (c *StepContext) Key() string { return c.key }

// Context returns the record's context: cancelled when the partition is
// revoked or the processor stops; in an Async step it also carries the
// per-call deadline (asyncdsl.WithCallTimeout). Pass it to remote calls.
func (c *StepContext) Context() context.Context { return c.rc.g.Context() }

// Record returns the metadata of the record the group consumed.
func (c *StepContext) Record() Record {
	g := c.rc.g
	r := Record{Coordinates: gokaadapter.CoordinatesOf(g), Timestamp: g.Timestamp()}
	if h := g.Headers(); len(h) > 0 {
		r.Headers = make(map[string][]byte, len(h))
		for k, v := range h {
			r.Headers[k] = v
		}
	}
	return r
}

// IdempotencyKey returns the idempotency key of the record the group
// consumed, for the compiled goka group that runs the step
// (riffle.Coordinates.IdempotencyKey, GroupInfo.Name): the same on every
// attempt and retry of the record and on every redelivery after a crash or
// a rebalance, different for other records and other groups. Pass it to
// remote services so that they can deduplicate the calls of a record that
// is processed again.
//
// The key names the group's input record, not a call: steps fused into
// one group, and every record a Process step forwards within the group,
// see the same key, so calls that must each take effect once need keys of
// their own, such as the key with a suffix that is the same on a replay
// (the step's name, the call's place in the step). After a repartition
// (SelectKey, GroupBy, ...) the next group consumes the repartition topic,
// and its key names that topic's record.
func (c *StepContext) IdempotencyKey() string { return gokaadapter.IdempotencyKey(c.rc.g) }

func (c *StepContext) stepContext() *StepContext { return c }

// StateContext is implemented by the contexts of Process and ProcessValues
// steps; Store methods take it.
type StateContext interface {
	stepContext() *StepContext
}

// ProcessContext is the context of a Process step: it forwards records of
// type W, with any key, to the next steps.
type ProcessContext[W any] struct {
	*StepContext
	out emitFn
	err error
}

// Forward passes a record to the next steps. They run before Forward
// returns. Their first error is returned by the step.
func (c *ProcessContext[W]) Forward(key string, v W) {
	if c.err == nil {
		c.err = c.out(key, v)
	}
}

// ValuesContext is the context of a ProcessValues step: it forwards values of
// type W under the input's key.
type ValuesContext[W any] struct {
	*StepContext
	out emitFn
	err error
}

// Forward passes a value, under the input's key, to the next steps.
func (c *ValuesContext[W]) Forward(v W) {
	if c.err == nil {
		c.err = c.out(c.key, v)
	}
}

// StepOption configures a Process or ProcessValues step. A nil option is ignored.
type StepOption interface{ applyStep(b *Builder, n *node) }

// ProcessStream is the output of a Process or ProcessValues step. It is a
// Stream, and Async makes its step run on an executor.
type ProcessStream[W any] struct {
	*Stream[W]
}

// Async runs the step's group callback on riffle's key-ordered executor,
// built from pool and opts (opts are appended to the pool's options; the
// options of all Async steps of one group apply in step order). Records of
// one key stay in order; records of different keys run concurrently; the
// step's error triggers the executor's retries and error policy.
//
// The whole group callback runs on the executor, so the stateless steps
// fused with this one run there too, and run again on a retry.
func (p *ProcessStream[W]) Async(pool *Pool, opts ...asyncdsl.Option) *Stream[W] {
	n := p.n
	switch {
	case pool == nil:
		n.b.failf(n, ErrAsync, "Async needs a pool")
	case n.async:
		n.b.failf(n, ErrAsync, "Async is called twice on the step")
	default:
		n.async, n.pool, n.asyncOpts = true, pool, append([]asyncdsl.Option(nil), opts...)
		if err := validatePool(append(append([]asyncdsl.Option(nil), pool.opts...), opts...)); err != nil {
			n.b.failf(n, ErrAsync, "pool %q: %v", pool.name, err)
		}
	}
	return p.Stream
}

// Process runs fn for each record. fn forwards zero or more records, with any
// key, through its context, and can read and write a Store declared with
// WithStore. An error from fn fails the record: the processor stops, as in
// goka, unless the step is Async and its error policy skips or dead-letters.
func Process[V, W any](s *Stream[V], fn func(c *ProcessContext[W], key string, v V) error, opts ...StepOption) *ProcessStream[W] {
	n := s.n.b.add(&node{op: "Process", kind: kProcess, keyChange: true}, s.n)
	if fn == nil {
		s.n.b.failf(n, ErrNilFunc, "Process needs a function")
	}
	for _, o := range opts {
		if o != nil {
			o.applyStep(s.n.b, n)
		}
	}
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		c := &ProcessContext[W]{StepContext: &StepContext{rc: rc, n: n, key: k}, out: out}
		if err := fn(c, k, v.(V)); err != nil {
			return err
		}
		return c.err
	}
	return &ProcessStream[W]{Stream: &Stream[W]{n: n}}
}

// ProcessValues is Process for steps that keep the key: fn forwards values.
func ProcessValues[V, W any](s *Stream[V], fn func(c *ValuesContext[W], key string, v V) error, opts ...StepOption) *ProcessStream[W] {
	n := s.n.b.add(&node{op: "ProcessValues", kind: kProcess}, s.n)
	if fn == nil {
		s.n.b.failf(n, ErrNilFunc, "ProcessValues needs a function")
	}
	for _, o := range opts {
		if o != nil {
			o.applyStep(s.n.b, n)
		}
	}
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		c := &ValuesContext[W]{StepContext: &StepContext{rc: rc, n: n, key: k}, out: out}
		if err := fn(c, k, v.(V)); err != nil {
			return err
		}
		return c.err
	}
	return &ProcessStream[W]{Stream: &Stream[W]{n: n}}
}
