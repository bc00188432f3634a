package gokaadapter_test

import (
	"strings"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// EmitWithHeaders carries headers from an async callback; a goka
// ContextOption, which the adapter cannot read, is an error that names the
// alternative instead of a silently dropped header.
func TestTesterEmitWithHeaders(t *testing.T) {
	tt := tester.New(t)
	cb := func(ctx goka.Context, msg any) {
		switch msg.(string) {
		case "helper":
			gokaadapter.EmitWithHeaders(ctx, "out", ctx.Key(), "v", goka.Headers{"trace": []byte("abc")})
		case "option":
			ctx.Emit("out", ctx.Key(), "v", goka.WithCtxEmitHeaders(goka.Headers{"trace": []byte("x")}))
		}
	}
	startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
		return goka.DefineGroup("tester-headers",
			goka.Input("in", new(codec.String), a.Async(cb)),
			goka.Output("out", new(codec.String)),
		)
	}, gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)))

	out := tt.NewQueueTracker("out")
	dlq := tt.NewQueueTracker("tester-headers-dead-letters")
	tt.Consume("in", "a", "helper")
	tt.Consume("in", "b", "option")

	headers, key, _, ok := out.NextWithHeaders()
	if !ok || key != "a" || string(headers["trace"]) != "abc" {
		t.Fatalf("emitted %q with headers %v (found %v), want a with trace=abc", key, headers, ok)
	}
	if _, _, ok := out.Next(); ok {
		t.Fatalf("the emit with a goka.ContextOption went through")
	}
	headers, key, _, ok = dlq.NextRawWithHeaders()
	if !ok || key != "b" {
		t.Fatalf("dead letter %q (found %v), want b", key, ok)
	}
	if got := string(headers[gokaadapter.HeaderError]); !strings.Contains(got, "EmitWithHeaders") {
		t.Fatalf("error header %q does not point to EmitWithHeaders", got)
	}
}
