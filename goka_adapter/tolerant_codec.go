package gokaadapter

import "github.com/lovoo/goka"

// tolerantCodec turns decode errors of an input topic into a value, so that
// the record reaches the async callback's wrapper (which knows its topic,
// partition and offset) instead of stopping the processor inside goka.
type tolerantCodec struct {
	inner goka.Codec
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
