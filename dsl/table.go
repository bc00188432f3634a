package dsl

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riffle-streams/riffle/codec"
)

// Table is a typed goka table: the latest value of type T per key. It is
// either a group table the topology writes (an aggregation or ToTable, topic
// "<app>-<name>-table") or a topic read as a table (TableFrom).
type Table[T any] struct {
	n *node
}

// Topic returns the table's topic. For tables the topology writes it is known
// after Build: "<app>-<name>-table".
func (t *Table[T]) Topic() string {
	if t.n.kind == kTableSource {
		return t.n.table.topic
	}
	return t.n.b.app + "-" + t.n.table.name + "-table"
}

// TableFrom reads topic, a compacted topic written with goka's hasher, as a
// table for Join and Lookup.
func TableFrom[T any](b *Builder, topic string, c codec.Codec[T]) *Table[T] {
	n := b.add(&node{op: "TableFrom", name: topic, kind: kTableSource})
	n.table = &tableSpec{name: topic, codec: codec.Goka(c), step: n.id, topic: topic}
	switch {
	case topic == "":
		b.fail(n, ErrEmptyName)
	case c == nil:
		b.failf(n, ErrMissingCodec, "TableFrom needs the codec of topic %q", topic)
	}
	setCodec(n, c)
	return &Table[T]{n: n}
}

// ToStream returns the stream of the table's updates: each time the table
// changes, its key and new value. Only tables the topology writes have one.
func (t *Table[T]) ToStream() *Stream[T] {
	if t.n.kind == kTableSource {
		t.n.b.failf(t.n, ErrNameClash, "ToStream of a TableFrom table: read topic %q with From instead", t.n.name)
	}
	return &Stream[T]{n: t.n}
}

// Grouped is a stream grouped by its key, ready for aggregation.
type Grouped[V any] struct {
	s *Stream[V]
}

// GroupByKey groups the stream by its current key. If the key changed since
// the group's input (SelectKey, Map, ...), the aggregation runs in a new goka
// group behind a repartition topic.
func (s *Stream[V]) GroupByKey() *Grouped[V] { return &Grouped[V]{s: s} }

// GroupBy is SelectKey(f).GroupByKey().
func (s *Stream[V]) GroupBy(f func(key string, v V) string) *Grouped[V] {
	return s.SelectKey(f).GroupByKey()
}

// aggregate adds a step that folds records into a group table named name.
func aggregate[V, A any](g *Grouped[V], op, name string, c codec.Codec[A], fnNil bool, fold func(key string, v V, cur A, found bool) A) *Table[A] {
	b := g.s.n.b
	n := b.add(&node{op: op, name: name, kind: kAggregate, copart: true}, g.s.n)
	spec := &tableSpec{name: name, codec: codec.Goka(c), step: n.id}
	n.table = spec
	switch {
	case fnNil:
		b.failf(n, ErrNilFunc, "%s needs a function", op)
	case name == "":
		b.fail(n, ErrEmptyName)
	case c == nil:
		b.failf(n, ErrMissingCodec, "%s %q needs the codec of its table values (WithCodec on the stream, or the codec argument)", op, name)
	}
	if prev, ok := b.stores[name]; ok && prev != nil && name != "" {
		b.failf(n, ErrNameClash, "store or table %q is declared twice", name)
	}
	b.stores[name] = spec
	setCodec(n, c)
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		var cur A
		old := rc.g.Value()
		if old != nil {
			cur = old.(A)
		}
		next := fold(k, v.(V), cur, old != nil)
		rc.g.SetValue(next)
		return out(k, next)
	}
	return &Table[A]{n: n}
}

// Count counts the records per key into the table name.
func (g *Grouped[V]) Count(name string) *Table[int64] {
	return aggregate(g, "Count", name, codec.Int64(), false, func(_ string, _ V, cur int64, _ bool) int64 { return cur + 1 })
}

// Reduce combines the records of a key with f into the table name, encoded
// with the stream's codec (see WithCodec). The first record of a key is
// stored as it is.
func (g *Grouped[V]) Reduce(name string, f func(agg, v V) V) *Table[V] {
	return aggregate(g, "Reduce", name, codecOf[V](g.s.n), f == nil, func(_ string, v V, cur V, found bool) V {
		if !found {
			return v
		}
		return f(cur, v)
	})
}

// Aggregate folds the records of a key into the table name: init gives the
// start value of a new key, add folds a record in, c encodes the table.
func Aggregate[V, A any](g *Grouped[V], name string, init func() A, add func(key string, v V, agg A) A, c codec.Codec[A]) *Table[A] {
	return aggregate(g, "Aggregate", name, c, init == nil || add == nil, func(k string, v V, cur A, found bool) A {
		if !found {
			cur = init()
		}
		return add(k, v, cur)
	})
}

// ToTable writes the latest value of each key to the table name, encoded with
// c.
func (s *Stream[V]) ToTable(name string, c codec.Codec[V]) *Table[V] {
	return aggregate(s.GroupByKey(), "ToTable", name, c, false, func(_ string, v V, _ V, _ bool) V { return v })
}

// Windowed is a grouped stream cut in tumbling windows.
type Windowed[V any] struct {
	g *Grouped[V]
}

// WindowedBy cuts the grouped stream into tumbling windows of the given size,
// aligned to the Unix epoch. A record belongs to the window that contains its
// event time: eventTime(key, v, recordTimestamp), or the record's Kafka
// timestamp if eventTime is nil.
//
// Windowed aggregations keep one table entry per key and window, under the
// key WindowKey(key, windowStart) ("<key>@<start in Unix ms>"); since this
// changes the table key, they always run in a group of their own behind a
// repartition topic. Old windows are not expired.
func (g *Grouped[V]) WindowedBy(size time.Duration, eventTime func(key string, v V, ts time.Time) time.Time) *Windowed[V] {
	b := g.s.n.b
	n := stateless(g.s, "WindowedBy", false, nil)
	n.name = size.String()
	n.keyChange = true
	n.codec, n.typedCodec = g.s.n.codec, g.s.n.typedCodec
	if size <= 0 {
		b.failf(n, ErrNilFunc, "window size %s must be positive", size)
	}
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		t := rc.g.Timestamp()
		if eventTime != nil {
			t = eventTime(k, v.(V), t)
		}
		return out(WindowKey(k, WindowStart(t, size)), v)
	}
	return &Windowed[V]{g: &Grouped[V]{s: &Stream[V]{n: n}}}
}

// Count counts the records per key and window.
func (w *Windowed[V]) Count(name string) *Table[int64] { return w.g.Count(name) }

// Reduce reduces the records per key and window.
func (w *Windowed[V]) Reduce(name string, f func(agg, v V) V) *Table[V] { return w.g.Reduce(name, f) }

// AggregateWindowed is Aggregate per key and window.
func AggregateWindowed[V, A any](w *Windowed[V], name string, init func() A, add func(key string, v V, agg A) A, c codec.Codec[A]) *Table[A] {
	return Aggregate(w.g, name, init, func(k string, v V, agg A) A {
		key, _, _ := SplitWindowKey(k)
		return add(key, v, agg)
	}, c)
}

// WindowStart returns the start of the tumbling window of the given size that
// contains t.
func WindowStart(t time.Time, size time.Duration) time.Time {
	ms := t.UnixMilli()
	sz := size.Milliseconds()
	if sz <= 0 {
		return t
	}
	start := ms - ((ms%sz)+sz)%sz
	return time.UnixMilli(start).UTC()
}

// WindowKey is the table key of key's window starting at start:
// "<key>@<start in Unix milliseconds>".
func WindowKey(key string, start time.Time) string {
	return key + "@" + strconv.FormatInt(start.UnixMilli(), 10)
}

// SplitWindowKey splits a WindowKey into the record key and window start.
func SplitWindowKey(wk string) (key string, start time.Time, err error) {
	i := strings.LastIndexByte(wk, '@')
	if i < 0 {
		return wk, time.Time{}, fmt.Errorf("dsl: %q is not a window key", wk)
	}
	ms, err := strconv.ParseInt(wk[i+1:], 10, 64)
	if err != nil {
		return wk, time.Time{}, fmt.Errorf("dsl: %q is not a window key: %w", wk, err)
	}
	return wk[:i], time.UnixMilli(ms).UTC(), nil
}
