package dsl

import "github.com/lovoo/goka"

func tableCheck[T any](b *Builder, n *node, t *Table[T]) {
	if t == nil {
		b.failf(n, ErrNilFunc, "%s needs a table", n.op)
		return
	}
	if t.n.b != b {
		b.fail(n, ErrForeignStream)
		return
	}
	n.joinTable = t.n
	n.name = t.n.table.name
}

// Join joins each record with the value of its key in table t (goka.Join):
// f combines them; records whose key has no value in t are dropped. The table
// must be co-partitioned with the stream; a stream whose key changed is
// repartitioned first.
func Join[V, T, W any](s *Stream[V], t *Table[T], f func(key string, v V, tv T) W) *Stream[W] {
	if f == nil {
		return LeftJoin[V, T, W](s, t, nil)
	}
	n := join(s, t, "Join", func(k string, v V, tv T, ok bool) (W, bool) {
		if !ok {
			var zero W
			return zero, false
		}
		return f(k, v, tv), true
	})
	return &Stream[W]{n: n}
}

// LeftJoin is Join that keeps records without a table value: f gets found
// false and T's zero value.
func LeftJoin[V, T, W any](s *Stream[V], t *Table[T], f func(key string, v V, tv T, found bool) W) *Stream[W] {
	var g func(string, V, T, bool) (W, bool)
	if f != nil {
		g = func(k string, v V, tv T, ok bool) (W, bool) { return f(k, v, tv, ok), true }
	}
	return &Stream[W]{n: join(s, t, "LeftJoin", g)}
}

func join[V, T, W any](s *Stream[V], t *Table[T], op string, f func(string, V, T, bool) (W, bool)) *node {
	b := s.n.b
	n := b.add(&node{op: op, kind: kJoin, copart: true}, s.n)
	if f == nil {
		b.failf(n, ErrNilFunc, "%s needs a function", op)
	}
	tableCheck(b, n, t)
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		var tv T
		raw := rc.g.Join(goka.Table(n.joinTable.table.topic))
		if raw != nil {
			tv = raw.(T)
		}
		w, keep := f(k, v.(V), tv, raw != nil)
		if !keep {
			return nil
		}
		return out(k, w)
	}
	return n
}

// Lookup looks up, for each record, the value of key(k, v) in table t
// (goka.Lookup, any partition) and maps the record with f; found is false when
// the table has no value. The stream keeps its key and partitioning.
func Lookup[V, T, W any](s *Stream[V], t *Table[T], key func(k string, v V) string, f func(k string, v V, tv T, found bool) W) *Stream[W] {
	b := s.n.b
	n := b.add(&node{op: "Lookup", kind: kLookup}, s.n)
	if f == nil || key == nil {
		b.failf(n, ErrNilFunc, "Lookup needs a key function and a function")
	}
	tableCheck(b, n, t)
	n.run = func(rc *runCtx, k string, v any, out emitFn) error {
		vv := v.(V)
		var tv T
		raw := rc.g.Lookup(goka.Table(n.joinTable.table.topic), key(k, vv))
		if raw != nil {
			tv = raw.(T)
		}
		return out(k, f(k, vv, tv, raw != nil))
	}
	return &Stream[W]{n: n}
}
