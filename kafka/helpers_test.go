package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runningProcessor is a goka processor running in its own goroutine.
type runningProcessor struct {
	*goka.Processor
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned; written before done is closed
}

// stop cancels the processor and returns what Run returned.
func (p *runningProcessor) stop() error {
	p.cancel()
	<-p.done
	return p.err
}

// startProcessor runs a processor of g with s's options (and in-memory
// storage, so that nothing outlives the test; goka's default is LevelDB in
// /tmp/goka) until t ends, when it fails t if Run failed.
func startProcessor(t testing.TB, s kafka.Settings, g *goka.GroupGraph, opts ...goka.ProcessorOption) *runningProcessor {
	t.Helper()
	return startProcessorWith(t, s.Brokers, g, append(s.ProcessorOptions(), opts...))
}

// startProcessorWith is startProcessor with all the options given, and
// in-memory storage.
func startProcessorWith(t testing.TB, brokers []string, g *goka.GroupGraph, opts []goka.ProcessorOption) *runningProcessor {
	t.Helper()
	opts = append([]goka.ProcessorOption{goka.WithStorageBuilder(storage.MemoryBuilder())}, opts...)
	p, err := goka.NewProcessor(brokers, g, opts...)
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &runningProcessor{Processor: p, cancel: cancel, done: make(chan struct{})}
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

// counterGroup counts the records of each key of input in its table and
// forwards every record to output.
func counterGroup(group goka.Group, input, output goka.Stream) *goka.GroupGraph {
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

// consume reads topic from its start with a new franz-go client until it has
// n records or ctx ends.
func consume(ctx context.Context, t testing.TB, s kafka.Settings, topic string, n int) ([]*kgo.Record, error) {
	cl := kafkatest.Client(t, s, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return recs, fmt.Errorf("consume %s: %d of %d records: %w", topic, len(recs), n, err)
		}
		if err := fs.Err(); err != nil {
			return recs, err
		}
		recs = append(recs, fs.Records()...)
	}
	return recs, nil
}

// committedCovers reports whether group has committed, for every partition of
// topic, the end offset of that partition.
func committedCovers(ctx context.Context, adm *kadm.Client, group, topic string) (bool, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return false, err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return false, err
	}
	covered := true
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, o.Partition)
		if !ok || c.At < o.Offset {
			covered = false
		}
	})
	return covered, errors.Join(ends.Error(), committed.Error())
}

// emit emits value to every key in keys with a new goka emitter for s, and
// returns once every record is acked.
func emit(t testing.TB, s kafka.Settings, topic goka.Stream, keys []string, value string) {
	t.Helper()
	em, err := goka.NewEmitter(s.Brokers, topic, new(codec.String), s.EmitterOptions()...)
	if err != nil {
		t.Fatalf("NewEmitter: %v", err)
	}
	for _, k := range keys {
		if _, err := em.Emit(k, value); err != nil {
			t.Errorf("Emit: %v", err)
			break
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatalf("emitter Finish: %v", err)
	}
}

// keys returns n distinct keys.
func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("key-%d", i)
	}
	return ks
}
