package gokaadapter

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"runtime/debug"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/internal/panics"
)

// proxyContext is the goka.Context an async callback sees. It lives for one
// attempt, on one worker goroutine, and never touches goka's own context:
//
//   - metadata (Key, Topic, Partition, Offset, Timestamp, Headers, Group) is
//     the copy taken on the partition goroutine;
//   - reads (Value, Join, Lookup) go to the storages goka built, which are
//     safe for concurrent readers;
//   - writes (SetValue, Delete, Emit, Loopback) are validated and encoded at
//     once, as goka does, and buffered as effects; the executor applies them
//     after the attempt succeeded, before the next record of the key starts;
//   - Fail panics, as goka's does; the attempt turns it into an error.
//
// Value sees the attempt's own earlier SetValue or Delete, as with goka.
type proxyContext struct {
	ctx     context.Context
	adapter *Adapter
	graph   *goka.GroupGraph
	rec     *recordMeta // the record's, shared by its attempts; read-only
	effects *effects
}

// failure is the panic value of proxyContext.Fail and of misuse.
type failure struct {
	err       error
	permanent bool
}

// runCallback runs cb with the proxy and converts panics into errors.
//
// What is retried: a goka callback has no error result, so ctx.Fail is how
// it reports a failed remote call, and such failures are retried (with the
// executor's backoff) unless the error is marked asyncdsl.Permanent. Misuse
// of the context (emitting to an undeclared topic, state without
// goka.Persist, an encoding error, ...) fails permanently, as retrying
// cannot fix it; so do panics, which are bugs. Either way the error policy
// decides what happens once retries are spent.
func (p *proxyContext) runCallback(cb goka.ProcessCallback, msg any) (err error) {
	defer panics.Catch(func(r any) {
		if f, ok := r.(failure); ok {
			err = &FailError{Err: f.err}
			if f.permanent {
				err = asyncdsl.Permanent(err)
			}
			return
		}
		err = asyncdsl.Permanent(&asyncdsl.PanicError{Value: r, Stack: debug.Stack()})
	})
	cb(p, msg)
	return nil
}

func (p *proxyContext) Topic() goka.Stream       { return goka.Stream(p.rec.Topic) }
func (p *proxyContext) Key() string              { return p.rec.Key }
func (p *proxyContext) Partition() int32         { return p.rec.Partition }
func (p *proxyContext) Offset() int64            { return p.rec.Offset }
func (p *proxyContext) Group() goka.Group        { return p.rec.group }
func (p *proxyContext) Timestamp() time.Time     { return p.rec.timestamp }
func (p *proxyContext) Headers() goka.Headers    { return p.rec.headers }
func (p *proxyContext) Context() context.Context { return p.ctx }

// Fail stops the callback. The attempt fails with err: it is retried unless
// err is marked asyncdsl.Permanent, then the error policy applies.
func (p *proxyContext) Fail(err error) {
	panic(failure{err: err, permanent: asyncdsl.IsPermanent(err)})
}

// misuse stops the callback with an error that retrying cannot fix.
func (p *proxyContext) misuse(err error) { panic(failure{err: err, permanent: true}) }

func (p *proxyContext) misusef(format string, args ...any) {
	p.misuse(fmt.Errorf(format, args...))
}

// transientf stops the callback with an error that a retry may not see.
func (p *proxyContext) transientf(format string, args ...any) {
	panic(failure{err: fmt.Errorf(format, args...)})
}

func (p *proxyContext) rejectOptions(options []goka.ContextOption) {
	if len(options) > 0 {
		p.misuse(ErrContextOption)
	}
}

func (p *proxyContext) tableCodec() (string, goka.Codec) {
	t := p.graph.GroupTable()
	if t == nil {
		p.misuse(ErrStateless)
	}
	return t.Topic(), t.Codec()
}

func (p *proxyContext) Value() any {
	topic, codec := p.tableCodec()
	data, found := p.effects.pendingValue(p.rec.Key)
	if !found {
		st, err := p.adapter.storages.get(topic, p.rec.Partition)
		if err != nil {
			p.transientf("%w", err)
		}
		data, err = st.Get(p.rec.Key)
		if err != nil {
			p.transientf("gokaadapter: reading key %q of %s/%d: %w", p.rec.Key, topic, p.rec.Partition, err)
		}
	}
	if data == nil {
		return nil
	}
	v, err := codec.Decode(data)
	if err != nil {
		p.misusef("gokaadapter: decoding key %q of %s: %w", p.rec.Key, topic, err)
	}
	return v
}

func (p *proxyContext) SetValue(value any, options ...goka.ContextOption) {
	p.rejectOptions(options)
	topic, codec := p.tableCodec()
	if value == nil {
		p.misuse(errors.New("gokaadapter: cannot set nil as value"))
	}
	data, err := codec.Encode(value)
	if err != nil {
		p.misusef("gokaadapter: encoding value for table %s: %w", topic, err)
	}
	p.effects.add(effect{kind: effectSet, topic: topic, key: p.rec.Key, value: data})
}

func (p *proxyContext) Delete(options ...goka.ContextOption) {
	p.rejectOptions(options)
	topic, _ := p.tableCodec()
	p.effects.add(effect{kind: effectDelete, topic: topic, key: p.rec.Key})
}

func (p *proxyContext) Emit(topic goka.Stream, key string, value any, options ...goka.ContextOption) {
	p.rejectOptions(options)
	p.emit(topic, key, value, nil)
}

func (p *proxyContext) emit(topic goka.Stream, key string, value any, headers goka.Headers) {
	group := string(p.rec.group)
	switch {
	case topic == "":
		p.misuse(errors.New("gokaadapter: cannot emit to empty topic"))
	case p.graph.LoopStream() != nil && string(topic) == p.graph.LoopStream().Topic():
		p.misuse(errors.New("gokaadapter: cannot emit to loop topic (use Loopback instead)"))
	case p.graph.GroupTable() != nil && string(topic) == p.graph.GroupTable().Topic(), string(topic) == group+"-table":
		p.misuse(errors.New("gokaadapter: cannot emit to table topic (use SetValue instead)"))
	}
	codec := edgeCodec(p.graph.OutputStreams(), string(topic))
	if codec == nil {
		p.misusef("gokaadapter: topic %s is not configured for output; did you specify goka.Output(..) when defining the processor?", topic)
	}
	var data []byte
	if value != nil {
		var err error
		if data, err = codec.Encode(value); err != nil {
			p.misusef("gokaadapter: encoding message for topic %s: %w", topic, err)
		}
	}
	p.effects.add(effect{kind: effectEmit, topic: string(topic), key: key, value: data, headers: headers})
}

func (p *proxyContext) Loopback(key string, value any, options ...goka.ContextOption) {
	p.rejectOptions(options)
	loop := p.graph.LoopStream()
	if loop == nil {
		p.misuse(errors.New("gokaadapter: no loop topic configured"))
	}
	data, err := loop.Codec().Encode(value)
	if err != nil {
		p.misusef("gokaadapter: encoding loopback message for key %s: %w", key, err)
	}
	p.effects.add(effect{kind: effectEmit, topic: loop.Topic(), key: key, value: data})
}

func (p *proxyContext) Join(topic goka.Table) any {
	codec := edgeCodec(p.graph.JointTables(), string(topic))
	if codec == nil {
		p.misusef("gokaadapter: table %s not subscribed", topic)
	}
	return p.readTable(string(topic), p.rec.Partition, p.rec.Key, codec)
}

func (p *proxyContext) Lookup(topic goka.Table, key string) any {
	codec := edgeCodec(p.graph.LookupTables(), string(topic))
	if codec == nil {
		p.misusef("gokaadapter: topic %s not subscribed", topic)
	}
	n := p.adapter.storages.partitionCount(string(topic))
	if n == 0 {
		p.transientf("%w: lookup table %s has no partitions yet", ErrNotRunning, topic)
	}
	return p.readTable(string(topic), keyPartition(p.adapter.cfg.hasher, key, n), key, codec)
}

func (p *proxyContext) readTable(topic string, partition int32, key string, codec goka.Codec) any {
	st, err := p.adapter.storages.get(topic, partition)
	if err != nil {
		p.transientf("%w", err)
	}
	data, err := st.Get(key)
	if err != nil {
		p.transientf("gokaadapter: getting key %s of table %s: %w", key, topic, err)
	}
	if data == nil {
		return nil
	}
	v, err := codec.Decode(data)
	if err != nil {
		p.misusef("gokaadapter: decoding key %s of table %s: %w", key, topic, err)
	}
	return v
}

// DeferCommit works as in goka: the record is committed only once the
// returned function was called (and the other writes are acknowledged).
// Calling it with an error fails the record's write-back.
func (p *proxyContext) DeferCommit() func(error) {
	return p.effects.deferCommit()
}

// edgeCodec returns the codec of topic among edges, or nil.
func edgeCodec(edges goka.Edges, topic string) goka.Codec {
	for _, e := range edges {
		if e.Topic() == topic {
			return e.Codec()
		}
	}
	return nil
}

// keyPartition is goka's partitioning (sarama's hash partitioner with goka's
// hasher), as goka's View uses it for lookups.
func keyPartition(hasher func() hash.Hash32, key string, partitions int) int32 {
	h := hasher()
	_, _ = h.Write([]byte(key))
	p := int32(h.Sum32())
	if p < 0 {
		p = -p
	}
	return p % int32(partitions)
}
