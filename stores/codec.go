package stores

import (
	"encoding/json"
	"strconv"
)

// Codec turns values of type V into bytes and back. Remote stores keep the
// bytes; the same Codec works for every backend, so that data written through
// one Redis store can be read by another, or by a goka table declared with
// GokaCodec.
//
// A Codec must be safe for concurrent use. Decode must not keep data: the
// caller may reuse it.
type Codec[V any] interface {
	Encode(v V) ([]byte, error)
	Decode(data []byte) (V, error)
}

// JSON is a Codec encoding V with encoding/json.
func JSON[V any]() Codec[V] { return jsonCodec[V]{} }

type jsonCodec[V any] struct{}

func (jsonCodec[V]) Encode(v V) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &CodecError{Codec: "json", Op: "encode", Err: err}
	}
	return b, nil
}

func (jsonCodec[V]) Decode(data []byte) (V, error) {
	var v V
	if err := json.Unmarshal(data, &v); err != nil {
		var zero V
		return zero, &CodecError{Codec: "json", Op: "decode", Err: err}
	}
	return v, nil
}

// String is a Codec storing a string as its bytes.
func String() Codec[string] { return stringCodec{} }

type stringCodec struct{}

func (stringCodec) Encode(v string) ([]byte, error)    { return []byte(v), nil }
func (stringCodec) Decode(data []byte) (string, error) { return string(data), nil }

// Int64 is a Codec storing an int64 as decimal text, as goka's codec.Int64
// does (and as Redis's INCR expects).
func Int64() Codec[int64] { return int64Codec{} }

type int64Codec struct{}

func (int64Codec) Encode(v int64) ([]byte, error) { return strconv.AppendInt(nil, v, 10), nil }

func (int64Codec) Decode(data []byte) (int64, error) {
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, &CodecError{Codec: "int64", Op: "decode", Err: err}
	}
	return v, nil
}

// Bytes is a Codec storing a byte slice as is. Decode returns a copy.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Encode(v []byte) ([]byte, error) { return v, nil }

func (bytesCodec) Decode(data []byte) ([]byte, error) {
	return append([]byte(nil), data...), nil
}
