package kafkatest

import (
	"context"
	"fmt"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/kafka"
)

// RunningProcessor is a goka processor whose Run runs in a goroutine of its
// own, started by StartProcessor or StartProcessorWith and stopped when the
// test ends.
type RunningProcessor struct {
	*goka.Processor
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned; written before done is closed, read after
}

// stop cancels the processor and returns what Run returned.
func (p *RunningProcessor) stop() error {
	p.cancel()
	<-p.done
	return p.err
}

// Failed returns what Run returned, wrapped, if Run has returned (the
// processor stopped before the test ended it), or nil while it runs.
func (p *RunningProcessor) Failed() error {
	select {
	case <-p.done:
		return fmt.Errorf("processor stopped: %w", p.err)
	default:
		return nil
	}
}

// StartProcessor runs a processor of g with s's options and then opts (and
// in-memory storage, so that nothing outlives the test; goka's default is
// LevelDB in /tmp/goka) until t ends, when it fails t if Run failed.
func StartProcessor(t testing.TB, s kafka.Settings, g *goka.GroupGraph, opts ...goka.ProcessorOption) *RunningProcessor {
	t.Helper()
	return StartProcessorWith(t, s.Brokers, g, append(s.ProcessorOptions(), opts...))
}

// StartProcessorWith is StartProcessor with all the options given, and
// in-memory storage unless opts choose another.
func StartProcessorWith(t testing.TB, brokers []string, g *goka.GroupGraph, opts []goka.ProcessorOption) *RunningProcessor {
	t.Helper()
	opts = append([]goka.ProcessorOption{goka.WithStorageBuilder(storage.MemoryBuilder())}, opts...)
	p, err := goka.NewProcessor(brokers, g, opts...)
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &RunningProcessor{Processor: p, cancel: cancel, done: make(chan struct{})}
	// The goroutine owns rp.err until it closes rp.done; stop and Failed
	// read rp.err only after <-rp.done, so the close orders the write first.
	go func() {
		defer close(rp.done)
		rp.err = p.Run(ctx)
	}()
	t.Cleanup(func() {
		if err := rp.stop(); err != nil {
			t.Errorf("processor %s: %v", g.Group(), err)
		}
	})
	return rp
}

// CounterGroup counts the records of each key of input in its table (an
// int64 per key) and forwards every record, a string, to output.
func CounterGroup(group goka.Group, input, output goka.Stream) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.Emit(output, ctx.Key(), msg)
		}),
		goka.Persist(new(codec.Int64)),
		goka.Output(output, new(codec.String)),
	)
}
