package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceTimeout bounds Produce.
const produceTimeout = 60 * time.Second

// Client returns a franz-go client of the cluster of s with opts after
// s.KgoOptions (so that it partitions as goka does), closed when t ends.
func Client(t testing.TB, s kafka.Settings, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(s.KgoOptions(), opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Produce writes recs with cl, in order, and returns once each is
// acknowledged; it fails t if one is not.
func Produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), produceTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Emit emits value to every key in keys with a new goka emitter of s, and
// returns once every record is acknowledged; it fails t if one is not.
func Emit(t testing.TB, s kafka.Settings, topic goka.Stream, keys []string, value string) {
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

// Keys returns n distinct keys: key-0, key-1, ...
func Keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("key-%d", i)
	}
	return ks
}

// Consume reads topic of the cluster of s from its start, with a client of
// its own, until n records have arrived, and returns them. It fails t if a
// fetch fails or timeout passes first.
func Consume(t testing.TB, s kafka.Settings, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	recs, err := ConsumeContext(ctx, s, topic, n)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// ConsumeContext is Consume that returns, rather than fails the test: it
// reads topic of the cluster of s from its start, with a client of its own
// (closed before it returns), until n records have arrived or ctx ends. On
// an error it returns the records read so far and the error.
func ConsumeContext(ctx context.Context, s kafka.Settings, topic string, n int) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", topic, err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return recs, fmt.Errorf("consume %s: %d of %d records: %w", topic, len(recs), n, err)
		}
		if err := fs.Err(); err != nil {
			return recs, fmt.Errorf("consume %s: %w", topic, err)
		}
		recs = append(recs, fs.Records()...)
	}
	return recs, nil
}
