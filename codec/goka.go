package codec

import (
	"fmt"
	"reflect"

	"github.com/lovoo/goka"
)

// Goka returns c as a goka.Codec, for goka's graphs (goka.Input,
// goka.Persist, goka.Lookup, ...), emitters, views and tester, over the
// topics, tables and stores that riffle's dsl and stores use with c:
//
//	goka.Persist(codec.Goka(codec.JSON[Order]()))
//
// Decode returns a T. Encode takes a T, or a []byte already encoded by c
// (what stores.GokaTable.Put hands goka's context), which it passes on as
// it is; any other value is an *Error. Goka of a nil c is nil.
//
// Every Goka(c) of one T is a goka.Codec of the same Go type: goka's tester
// requires that of all the codecs of one topic (see WrapGoka).
func Goka[T any](c Codec[T]) goka.Codec {
	if c == nil {
		return nil
	}
	return gokaCodec[T]{c: c}
}

// gokaCodec is the goka.Codec of a Codec[T]: the only place where typed
// values meet goka's any.
type gokaCodec[T any] struct {
	c Codec[T]
	// via, when set by WrapGoka, is a wrapper of the plain gokaCodec that
	// Encode and Decode go through. Made once, so that a record's decode
	// does not allocate it.
	via goka.Codec
}

func (g gokaCodec[T]) Encode(value any) ([]byte, error) {
	if g.via != nil {
		return g.via.Encode(value)
	}
	switch v := value.(type) {
	case T:
		return g.c.Encode(v)
	case []byte:
		return v, nil
	default:
		t := reflect.TypeFor[T]().String()
		return nil, &Error{Codec: "goka", Op: "encode", Type: t, Err: fmt.Errorf("value is a %T, want %s or []byte", value, t)}
	}
}

func (g gokaCodec[T]) Decode(data []byte) (any, error) {
	if g.via != nil {
		return g.via.Decode(data)
	}
	v, err := g.c.Decode(data)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (g gokaCodec[T]) wrapped(wrap func(goka.Codec) goka.Codec) goka.Codec {
	return gokaCodec[T]{c: g.c, via: wrap(g)}
}

// WrapGoka returns wrap(c); when c was made by Goka, as a goka.Codec of the
// same Go type as c. goka's tester refuses two codecs of different Go types
// for one topic ("There are different codecs for the same topic"), and a
// wrapper is often used on one edge of a topic only: riffle's dsl makes a
// group's input tolerant of undecodable records
// (gokaadapter.TolerantCodec), while the group that writes the topic, and
// a test's emitter, use the plain codec. wrap is called once, here.
func WrapGoka(c goka.Codec, wrap func(goka.Codec) goka.Codec) goka.Codec {
	if w, ok := c.(interface {
		wrapped(func(goka.Codec) goka.Codec) goka.Codec
	}); ok {
		return w.wrapped(wrap)
	}
	return wrap(c)
}
