package dsl

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lovoo/goka"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// Codec encodes and decodes the values of one type. It is the typed
// counterpart of goka.Codec: the builder converts between the two at the
// edge of the topology, so user code never sees an any.
type Codec[T any] interface {
	Encode(value T) ([]byte, error)
	Decode(data []byte) (T, error)
}

// JSON returns a Codec that encodes T with encoding/json.
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec[T]) Decode(b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("dsl: json decode %T: %w", v, err)
	}
	return v, nil
}

// String is the Codec of strings: the bytes as they are.
func String() Codec[string] { return stringCodec{} }

type stringCodec struct{}

func (stringCodec) Encode(v string) ([]byte, error) { return []byte(v), nil }
func (stringCodec) Decode(b []byte) (string, error) { return string(b), nil }

// Int64 is the Codec of int64 values, in decimal text (as goka's codec.Int64).
func Int64() Codec[int64] { return int64Codec{} }

type int64Codec struct{}

func (int64Codec) Encode(v int64) ([]byte, error) { return []byte(strconv.FormatInt(v, 10)), nil }

func (int64Codec) Decode(b []byte) (int64, error) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("dsl: int64 decode: %w", err)
	}
	return v, nil
}

// Bytes is the Codec of raw byte slices.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Encode(v []byte) ([]byte, error) { return v, nil }
func (bytesCodec) Decode(b []byte) ([]byte, error) { return b, nil }

// gokaCodec adapts a Codec[T] to goka.Codec. It is the only place where the
// builder's values meet goka's any.
//
// On a group's input edge it is tolerant (see tolerantInput): a value it
// cannot decode becomes the marker of gokaadapter.TolerantCodec, so that
// the record reaches the group's error policy instead of stopping goka. It
// stays the same Go type either way, because goka's tester insists that
// every edge of a topic (an intermediate topic is one group's output and
// another's input) has a codec of one type.
type gokaCodec[T any] struct {
	c Codec[T]
	// tolerant is gokaadapter.TolerantCodec of the plain codec, on an
	// input edge; nil elsewhere. Made once, so that a record's decode does
	// not allocate it.
	tolerant goka.Codec
}

func (g gokaCodec[T]) Encode(v any) ([]byte, error) {
	if g.tolerant != nil {
		return g.tolerant.Encode(v)
	}
	t, ok := v.(T)
	if !ok {
		var zero T
		return nil, fmt.Errorf("dsl: codec for %T got a %T", zero, v)
	}
	return g.c.Encode(t)
}

func (g gokaCodec[T]) Decode(b []byte) (any, error) {
	if g.tolerant != nil {
		return g.tolerant.Decode(b)
	}
	return g.c.Decode(b)
}

func (g gokaCodec[T]) tolerantCopy() goka.Codec {
	return gokaCodec[T]{c: g.c, tolerant: gokaadapter.TolerantCodec(gokaCodec[T]{c: g.c})}
}

// tolerantInput returns the codec of a group's input edge: c, made tolerant
// of values it cannot decode (see gokaCodec).
func tolerantInput(c goka.Codec) goka.Codec {
	if t, ok := c.(interface{ tolerantCopy() goka.Codec }); ok {
		return t.tolerantCopy()
	}
	return gokaadapter.TolerantCodec(c)
}

// toGoka returns c as a goka.Codec, or nil for a nil c.
func toGoka[T any](c Codec[T]) goka.Codec {
	if c == nil {
		return nil
	}
	return gokaCodec[T]{c: c}
}

// GokaCodec returns c as a goka.Codec, for goka emitters, views and testers
// that read or write a topic of a topology.
func GokaCodec[T any](c Codec[T]) goka.Codec { return toGoka(c) }
