package gokaadapter

import "github.com/lovoo/goka"

// tolerantCodec turns decode errors of an input topic into a value, so that
// the record reaches the async callback's wrapper (which knows its topic,
// partition and offset) instead of stopping the processor inside goka.
type tolerantCodec struct {
	inner goka.Codec
}

// TolerantCodec returns c wrapped so that a record c cannot decode reaches
// the callback instead of stopping the processor inside goka: its value is
// then a marker that DecodeFailure recognises. Adapter.Input uses it for
// async callbacks, which send such records to the error policy; a
// synchronous callback that uses it must check every value with
// DecodeFailure before it uses it.
func TolerantCodec(c goka.Codec) goka.Codec { return tolerantCodec{inner: c} }

// DecodeFailure returns, when msg is the value TolerantCodec delivers for a
// record its codec could not decode, the record's bytes and the codec's
// error; otherwise nil and nil.
func DecodeFailure(msg any) (raw []byte, err error) {
	if u, ok := msg.(undecodable); ok {
		return u.raw, u.err
	}
	return nil, nil
}

// undecodable is the value of a record the inner codec could not decode.
type undecodable struct {
	raw []byte
	err error
}

func (c tolerantCodec) Encode(value any) ([]byte, error) {
	if u, ok := value.(undecodable); ok {
		return u.raw, nil
	}
	return c.inner.Encode(value)
}

func (c tolerantCodec) Decode(data []byte) (any, error) {
	v, err := c.inner.Decode(data)
	if err != nil {
		return undecodable{raw: append([]byte(nil), data...), err: err}, nil
	}
	return v, nil
}
