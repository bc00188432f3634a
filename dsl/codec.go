package dsl

import (
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/codec"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// tolerantInput returns the codec of a group's input edge: c, made tolerant
// of values it cannot decode. A value c cannot decode becomes the marker of
// gokaadapter.TolerantCodec, so that the record reaches the group's error
// policy instead of stopping goka. The codec keeps its Go type
// (codec.WrapGoka), because goka's tester insists that every edge of a
// topic (an intermediate topic is one group's output and another's input)
// has a codec of one type.
func tolerantInput(c goka.Codec) goka.Codec {
	return codec.WrapGoka(c, gokaadapter.TolerantCodec)
}
