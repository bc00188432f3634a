package stores

import (
	"context"
	"fmt"
	"reflect"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/codec"
)

// GokaTable is the KeyValue view of goka's group table from inside a goka
// callback, synchronous or async (riffle's async callbacks get a goka.Context
// too). It lets code written against KeyValue run on goka's table, local and
// changelogged by goka, or on Redis.
//
// Its limit is goka's: a callback reaches the group table only for the key of
// the record being processed (ctx.Value, ctx.SetValue, ctx.Delete). A
// GokaTable call for any other key fails with a *KeyScopeError
// (errors.Is(err, ErrOtherKey)); read other keys through a lookup table
// (GokaLookup) or keep them in a remote store.
//
// Writes follow goka's context. In a synchronous callback, Put writes the
// local storage and emits to the table topic at once. In an async callback
// the write is buffered by the adapter and applied, in key order, after the
// callback succeeded; Get sees the callback's own earlier Put either way.
//
// The table must be declared with codec.Goka(c) (then synchronous callbacks
// see typed values in ctx.Value too) or with goka's codec.Bytes, where c is
// the GokaTable's codec. Put hands the table the encoded bytes; Get accepts
// a V or bytes.
//
// goka reports storage failures by calling ctx.Fail, which panics; GokaTable
// lets that panic through, so that goka (or riffle's async runner) handles it
// as it handles any failed callback. Returned errors are codec, type, key and
// context errors.
//
// A GokaTable lives as long as the callback's goka.Context: it must not be
// used after the callback returned.
type GokaTable[V any] struct {
	gctx  goka.Context
	codec codec.Codec[V]
}

var _ KeyValue[int] = (*GokaTable[int])(nil)

// FromGokaContext returns the KeyValue view of ctx's group table, for ctx's
// key. c must be the codec the table was declared with (see GokaTable).
func FromGokaContext[V any](ctx goka.Context, c codec.Codec[V]) *GokaTable[V] {
	return &GokaTable[V]{gctx: ctx, codec: c}
}

func (t *GokaTable[V]) check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Store: "goka", Op: op, Key: key, Err: err}
	}
	if rk := t.gctx.Key(); key != rk {
		return &KeyScopeError{Op: op, Key: key, RecordKey: rk}
	}
	return nil
}

// Get returns the table's value of key, which must be the record's key.
func (t *GokaTable[V]) Get(ctx context.Context, key string) (V, bool, error) {
	var zero V
	if err := t.check(ctx, "get", key); err != nil {
		return zero, false, err
	}
	v, found, err := decodeGokaValue(t.gctx.Value(), key, t.codec)
	if err != nil {
		return zero, false, &OpError{Store: "goka", Op: "get", Key: key, Err: err}
	}
	return v, found, nil
}

// Put sets the table's value of key, which must be the record's key.
func (t *GokaTable[V]) Put(ctx context.Context, key string, v V) error {
	if err := t.check(ctx, "put", key); err != nil {
		return err
	}
	data, err := t.codec.Encode(v)
	if err != nil {
		return &OpError{Store: "goka", Op: "put", Key: key, Err: err}
	}
	t.gctx.SetValue(data)
	return nil
}

// Delete removes key, which must be the record's key, from the table.
func (t *GokaTable[V]) Delete(ctx context.Context, key string) error {
	if err := t.check(ctx, "delete", key); err != nil {
		return err
	}
	t.gctx.Delete()
	return nil
}

// GokaLookup is a read-only KeyValue over a goka lookup table (goka.Lookup
// in the group graph), usable from a callback for any key. Lookup tables are
// goka views, updated by their own processor: a read sees whatever that
// view has applied so far. Put and Delete fail with ErrReadOnly.
//
// The table's codec must be codec.Goka(c) or goka's codec.Bytes, as for
// GokaTable. Like the goka.Context it uses, it must not outlive the callback.
type GokaLookup[V any] struct {
	gctx  goka.Context
	table goka.Table
	codec codec.Codec[V]
}

var _ KeyValue[int] = (*GokaLookup[int])(nil)

// LookupFromGokaContext returns a read-only KeyValue over the lookup table
// table, read through ctx.
func LookupFromGokaContext[V any](ctx goka.Context, table goka.Table, c codec.Codec[V]) *GokaLookup[V] {
	return &GokaLookup[V]{gctx: ctx, table: table, codec: c}
}

// Get returns the lookup table's value of key.
func (l *GokaLookup[V]) Get(ctx context.Context, key string) (V, bool, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, false, &OpError{Store: "goka", Op: "get", Key: key, Err: err}
	}
	v, found, err := decodeGokaValue(l.gctx.Lookup(l.table, key), key, l.codec)
	if err != nil {
		return zero, false, &OpError{Store: "goka", Op: "get", Key: key, Err: err}
	}
	return v, found, nil
}

// Put fails with ErrReadOnly.
func (l *GokaLookup[V]) Put(_ context.Context, key string, _ V) error {
	return &OpError{Store: "goka", Op: "put", Key: key, Err: fmt.Errorf("lookup table %s: %w", l.table, ErrReadOnly)}
}

// Delete fails with ErrReadOnly.
func (l *GokaLookup[V]) Delete(_ context.Context, key string) error {
	return &OpError{Store: "goka", Op: "delete", Key: key, Err: fmt.Errorf("lookup table %s: %w", l.table, ErrReadOnly)}
}

// decodeGokaValue turns what goka's codec returned into a V.
func decodeGokaValue[V any](raw any, key string, c codec.Codec[V]) (V, bool, error) {
	var zero V
	switch val := raw.(type) {
	case nil:
		return zero, false, nil
	case V:
		return val, true, nil
	case []byte:
		v, err := c.Decode(val)
		if err != nil {
			return zero, false, err
		}
		return v, true, nil
	default:
		return zero, false, &TypeError{Key: key, Got: fmt.Sprintf("%T", raw), Want: reflect.TypeFor[V]().String()}
	}
}
