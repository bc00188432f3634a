package dsl

import (
	"strconv"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/codec"
)

// Stream is a typed stream of records with string keys (goka's keys) and
// values of type V. Operators that keep V are methods; operators that change
// it are package functions (Go methods cannot have type parameters):
//
//	orders := dsl.From(b, "orders", codec.JSON[Order]())
//	big := orders.Filter(func(_ string, o Order) bool { return o.Amount > 100 })
//	totals := dsl.MapValues(big, func(_ string, o Order) int64 { return o.Amount })
//
// A Stream is a handle on a step of its Builder; operators add steps.
type Stream[V any] struct {
	n *node
}

// From reads topic as a stream, decoding values with c. Each topic can be read
// once per topology; use Branch or several operators on the returned stream
// to consume it in several ways.
func From[V any](b *Builder, topic string, c codec.Codec[V]) *Stream[V] {
	n := b.add(&node{op: "From", name: topic, kind: kSource})
	switch {
	case topic == "":
		b.fail(n, ErrEmptyName)
	case c == nil:
		b.failf(n, ErrMissingCodec, "From needs the codec of topic %q", topic)
	default:
		if prev, ok := b.sources[topic]; ok {
			b.failf(n, ErrNameClash, "topic %q is already read at step %d; read it once and branch", topic, prev)
		}
		b.sources[topic] = n.id
	}
	n.run = identity
	setCodec(n, c)
	return &Stream[V]{n: n}
}

func identity(_ *runCtx, key string, v any, out emitFn) error { return out(key, v) }

func setCodec[V any](n *node, c codec.Codec[V]) {
	if c == nil {
		n.codec, n.typedCodec = nil, nil
		return
	}
	n.codec, n.typedCodec = codec.Goka(c), c
}

func codecOf[V any](n *node) codec.Codec[V] {
	c, _ := n.typedCodec.(codec.Codec[V])
	return c
}

// WithCodec sets the codec of the stream's values. The builder needs it where
// the values cross a topic it creates: a repartition after a key change,
// a merge of streams of different groups, a Reduce's table. A stream read with
// From has its topic's codec; operators that change the value type have none
// until WithCodec gives one.
func (s *Stream[V]) WithCodec(c codec.Codec[V]) *Stream[V] {
	if c == nil {
		s.n.b.failf(s.n, ErrMissingCodec, "WithCodec(nil)")
		return s
	}
	setCodec(s.n, c)
	return s
}

// stateless adds a step of kind kStateless computing f.
func stateless[V any](s *Stream[V], op string, fnNil bool, run func(rc *runCtx, key string, v any, out emitFn) error) *node {
	n := s.n.b.add(&node{op: op, kind: kStateless, run: run}, s.n)
	if fnNil {
		s.n.b.failf(n, ErrNilFunc, "%s needs a function", op)
	}
	return n
}

// Filter keeps the records for which keep returns true.
func (s *Stream[V]) Filter(keep func(key string, v V) bool) *Stream[V] {
	n := stateless(s, "Filter", keep == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		if keep(k, v.(V)) {
			return out(k, v)
		}
		return nil
	})
	n.codec, n.typedCodec = s.n.codec, s.n.typedCodec
	return &Stream[V]{n: n}
}

// FilterNot drops the records for which drop returns true.
func (s *Stream[V]) FilterNot(drop func(key string, v V) bool) *Stream[V] {
	n := stateless(s, "FilterNot", drop == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		if !drop(k, v.(V)) {
			return out(k, v)
		}
		return nil
	})
	n.codec, n.typedCodec = s.n.codec, s.n.typedCodec
	return &Stream[V]{n: n}
}

// Peek calls f for each record and passes the record on. In a group with an
// Async step, f runs on the executor's workers and again on every retry.
func (s *Stream[V]) Peek(f func(key string, v V)) *Stream[V] {
	n := stateless(s, "Peek", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		f(k, v.(V))
		return out(k, v)
	})
	n.codec, n.typedCodec = s.n.codec, s.n.typedCodec
	return &Stream[V]{n: n}
}

// Foreach calls f for each record. It ends the stream. Same caveat as Peek
// for groups with Async steps.
func (s *Stream[V]) Foreach(f func(key string, v V)) {
	stateless(s, "Foreach", f == nil, func(_ *runCtx, k string, v any, _ emitFn) error {
		f(k, v.(V))
		return nil
	})
}

// SelectKey gives each record the key f returns. A later step that needs the
// key's partition (state, aggregation, join) then runs in a new goka group
// that reads an intermediate topic ("<group>-repartition") written with
// goka's hasher, so that it is co-partitioned with the group's table. Writing
// that topic needs the stream's codec (see WithCodec).
func (s *Stream[V]) SelectKey(f func(key string, v V) string) *Stream[V] {
	n := stateless(s, "SelectKey", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		return out(f(k, v.(V)), v)
	})
	n.keyChange = true
	n.codec, n.typedCodec = s.n.codec, s.n.typedCodec
	return &Stream[V]{n: n}
}

// Branch splits the stream: a record goes to the branch of the first
// predicate that holds for it, and is dropped if none holds (Kafka Streams'
// split). Branches run in the same goka group as the stream.
func (s *Stream[V]) Branch(preds ...func(key string, v V) bool) []*Stream[V] {
	b := s.n.b
	split := stateless(s, "Branch", false, identity)
	split.codec, split.typedCodec = s.n.codec, s.n.typedCodec
	if len(preds) == 0 {
		b.failf(split, ErrNilFunc, "Branch needs at least one predicate")
	}
	out := make([]*Stream[V], len(preds))
	for i, p := range preds {
		if p == nil {
			b.failf(split, ErrNilFunc, "Branch predicate %d is nil", i)
		}
		i := i
		n := b.add(&node{op: "BranchArm", kind: kStateless, run: func(_ *runCtx, k string, v any, out emitFn) error {
			vv := v.(V)
			for j := 0; j < i; j++ {
				if preds[j] != nil && preds[j](k, vv) {
					return nil
				}
			}
			if preds[i] != nil && preds[i](k, vv) {
				return out(k, v)
			}
			return nil
		}}, split)
		n.name = "#" + strconv.Itoa(i)
		n.codec, n.typedCodec = s.n.codec, s.n.typedCodec
		out[i] = &Stream[V]{n: n}
	}
	return out
}

// To writes the stream to topic with codec c, with goka's hasher (goka.Output).
// It ends the stream.
func (s *Stream[V]) To(topic string, c codec.Codec[V]) {
	n := s.n.b.add(&node{op: "To", name: topic, kind: kSink, sinkTopic: topic, sinkCodec: codec.Goka(c)}, s.n)
	if topic == "" {
		s.n.b.fail(n, ErrEmptyName)
	}
	if c == nil {
		s.n.b.failf(n, ErrMissingCodec, "To needs the codec of topic %q", topic)
	}
	n.run = func(rc *runCtx, k string, v any, _ emitFn) error {
		rc.g.Emit(goka.Stream(topic), k, v)
		return nil
	}
}

// Merge returns a stream of the records of all streams. Streams of one goka
// group merge in that group; streams of different groups are written to an
// intermediate topic that a new group reads, which needs a codec on at least
// one of them.
func Merge[V any](streams ...*Stream[V]) *Stream[V] {
	if len(streams) == 0 || streams[0] == nil {
		// Nothing to attach the error to: return a detached stream whose
		// builder reports it.
		b := NewBuilder("invalid")
		n := b.add(&node{op: "Merge", kind: kStateless, run: identity})
		b.failf(n, ErrNilFunc, "Merge needs at least one stream")
		return &Stream[V]{n: n}
	}
	b := streams[0].n.b
	var parents []*node
	for _, s := range streams {
		if s != nil {
			parents = append(parents, s.n)
		}
	}
	n := b.add(&node{op: "Merge", kind: kStateless, run: identity}, parents...)
	if len(parents) != len(streams) {
		b.failf(n, ErrNilFunc, "Merge got a nil stream")
	}
	for _, p := range parents {
		if p.codec != nil {
			n.codec, n.typedCodec = p.codec, p.typedCodec
			break
		}
	}
	return &Stream[V]{n: n}
}

// MapValues maps each value with f. The key stays.
func MapValues[V, W any](s *Stream[V], f func(key string, v V) W) *Stream[W] {
	n := stateless(s, "MapValues", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		return out(k, f(k, v.(V)))
	})
	return &Stream[W]{n: n}
}

// Map maps each record to a new key and value with f. A key change
// repartitions as SelectKey does.
func Map[V, W any](s *Stream[V], f func(key string, v V) (string, W)) *Stream[W] {
	n := stateless(s, "Map", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		k2, w := f(k, v.(V))
		return out(k2, w)
	})
	n.keyChange = true
	return &Stream[W]{n: n}
}

// FlatMapValues maps each value to zero or more values with f. The key stays.
func FlatMapValues[V, W any](s *Stream[V], f func(key string, v V) []W) *Stream[W] {
	n := stateless(s, "FlatMapValues", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		for _, w := range f(k, v.(V)) {
			if err := out(k, w); err != nil {
				return err
			}
		}
		return nil
	})
	return &Stream[W]{n: n}
}

// KeyValue is one output record of FlatMap.
type KeyValue[W any] struct {
	Key   string
	Value W
}

// FlatMap maps each record to zero or more records with f. A key change
// repartitions as SelectKey does.
func FlatMap[V, W any](s *Stream[V], f func(key string, v V) []KeyValue[W]) *Stream[W] {
	n := stateless(s, "FlatMap", f == nil, func(_ *runCtx, k string, v any, out emitFn) error {
		for _, kv := range f(k, v.(V)) {
			if err := out(kv.Key, kv.Value); err != nil {
				return err
			}
		}
		return nil
	})
	n.keyChange = true
	return &Stream[W]{n: n}
}
