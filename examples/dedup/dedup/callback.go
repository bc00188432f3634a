package dedup

import (
	"sync/atomic"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/stores"
)

// Counts are what a Callback has done so far, live: records emitted,
// records dropped as duplicates, and calls running. The verdict, not these,
// says whether a run was right (an abandoned attempt may count a record
// twice).
type Counts struct {
	emitted, dropped, running atomic.Int64
}

// Emitted is the number of records the callback has emitted.
func (c *Counts) Emitted() int64 { return c.emitted.Load() }

// Dropped is the number of records the callback has dropped as duplicates.
func (c *Counts) Dropped() int64 { return c.dropped.Load() }

// Running is the number of calls of the callback in flight.
func (c *Counts) Running() int64 { return c.running.Load() }

// Callback returns the dedup app's goka callback: it emits the record to
// output if its id (the key) was not seen in win within the window, else it
// drops it, and counts what it did in counts. The same function runs on
// plain goka and on riffle.
//
// A failed call of the window store fails the record (ctx.Fail), unless the
// record's context was cancelled (its partition revoked, the processor
// shutting down): it then returns without effects, leaving the record
// unprocessed for the partition's next owner.
func Callback(win stores.Window, output goka.Stream, counts *Counts) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		counts.running.Add(1)
		defer counts.running.Add(-1)
		seen, err := win.SeenOrAdd(ctx.Context(), ctx.Key(), ctx.Timestamp())
		if err != nil {
			if ctx.Context().Err() != nil {
				return
			}
			ctx.Fail(err)
		}
		if seen {
			counts.dropped.Add(1)
			return
		}
		counts.emitted.Add(1)
		ctx.Emit(output, ctx.Key(), msg)
	}
}
