package gokaadapter

import "github.com/lovoo/goka"

// EmitWithHeaders emits like ctx.Emit(topic, key, value,
// goka.WithCtxEmitHeaders(headers)), in synchronous and async callbacks
// alike.
//
// Async callbacks cannot pass goka.ContextOption values: goka keeps what they
// carry in an unexported struct, readable only by goka's own context, which an
// async callback must not use (see ErrContextOption). A callback that emits
// with headers changes that one call to this function.
func EmitWithHeaders(ctx goka.Context, topic goka.Stream, key string, value any, headers goka.Headers) {
	if p, ok := ctx.(*proxyContext); ok {
		p.emit(topic, key, value, headers)
		return
	}
	ctx.Emit(topic, key, value, goka.WithCtxEmitHeaders(headers))
}
