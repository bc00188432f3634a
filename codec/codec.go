package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// Codec encodes and decodes the values of one type. It is the typed
// counterpart of goka.Codec: riffle converts between the two at the edge
// (Goka), so user code never sees an any.
//
// A Codec must be safe for concurrent use. Encode's result must not share
// memory with the value, and Decode must not keep data: both are used by
// goka, a store or the producer after the call returned (see Bytes).
type Codec[T any] interface {
	Encode(value T) ([]byte, error)
	Decode(data []byte) (T, error)
}

// JSON returns a Codec that encodes T with encoding/json.
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Encode(v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Codec: "json", Op: "encode", Type: reflect.TypeFor[T]().String(), Err: err}
	}
	return b, nil
}

func (jsonCodec[T]) Decode(data []byte) (T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, &Error{Codec: "json", Op: "decode", Type: reflect.TypeFor[T]().String(), Err: err}
	}
	return v, nil
}

// String returns the Codec of strings: a string's bytes as they are.
func String() Codec[string] { return stringCodec{} }

type stringCodec struct{}

func (stringCodec) Encode(v string) ([]byte, error)    { return []byte(v), nil }
func (stringCodec) Decode(data []byte) (string, error) { return string(data), nil }

// Int64 returns the Codec of int64 values, in decimal text, as goka's
// codec.Int64 writes them (and as Redis's INCR expects).
func Int64() Codec[int64] { return int64Codec{} }

type int64Codec struct{}

func (int64Codec) Encode(v int64) ([]byte, error) { return strconv.AppendInt(nil, v, 10), nil }

func (int64Codec) Decode(data []byte) (int64, error) {
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, &Error{Codec: "int64", Op: "decode", Type: "int64", Err: err}
	}
	return v, nil
}

// Bytes returns the Codec of raw byte slices. Encode and Decode return a
// copy of their argument (nil stays nil, empty stays empty), because
// neither side's slice may be shared:
//
//   - What a decoder is given is not its own. goka decodes a group table's
//     value straight from its storage's Get, and goka's memory storage
//     (storage.NewMemory, also under goka's tester) returns the slice it
//     stores: a value that aliased it would change the table's state in
//     place, without a write or a changelog record, while views and other
//     workers may read it. A record's value from sarama is a sub-slice of
//     the whole fetch response (realDecoder.getRawBytes slices the
//     response's buffer): sarama does not reuse that buffer, but a value
//     kept past its callback (in a window store, a cache) would keep the
//     entire response alive.
//   - What an encoder returns is kept after the call: goka's SetValue puts
//     it in the storage (the memory storage keeps the slice) and hands it
//     to the producer, which sends it later, and riffle's async callbacks
//     buffer it until the record's effects are applied. A caller that
//     reuses its buffer after SetValue or Emit would change what is
//     written.
//
// The copy costs one allocation per value, as the other codecs' results
// (string(data), json.Marshal) do.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Encode(v []byte) ([]byte, error)    { return bytes.Clone(v), nil }
func (bytesCodec) Decode(data []byte) ([]byte, error) { return bytes.Clone(data), nil }
