package workload

import (
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
)

// callback is the workload's goka callback, the same in both modes: it reads
// the key's count, waits latency (the remote call), writes count+1 and emits
// the input value to output.
//
// The remote call gives up when ctx.Context() is cancelled (goka cancels it
// when the partition is revoked, riffle when the assignment is revoked or
// the executor closes); the callback then returns without effects. During a
// measured run nothing is revoked: this only shortens the shutdown.
func callback(latency time.Duration, output goka.Stream) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		var n int64
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-ctx.Context().Done():
				t.Stop()
				return
			}
		}
		ctx.SetValue(n + 1)
		ctx.Emit(output, ctx.Key(), msg)
	}
}

// graph is the run's group: input (bytes) → callback → output (bytes), with
// a table of codec table if it is not nil.
func graph(names names, cb goka.ProcessCallback, table goka.Codec) *goka.GroupGraph {
	edges := []goka.Edge{
		goka.Input(names.input, new(codec.Bytes), cb),
		goka.Output(names.output, new(codec.Bytes)),
	}
	if table != nil {
		edges = append(edges, goka.Persist(table))
	}
	return goka.DefineGroup(names.group, edges...)
}
