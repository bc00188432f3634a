package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ack is what one promise of a producer reported.
type ack struct {
	msg *sarama.ProducerMessage
	err error
}

// emitAll emits one record per key to topic through p, with a header naming
// the key, and returns the promises' results by key once all are finished.
func emitAll(t *testing.T, p goka.Producer, topic string, keys []string, value func(key string) []byte) map[string]ack {
	t.Helper()
	var (
		mu   sync.Mutex
		acks = make(map[string]ack, len(keys))
		wg   sync.WaitGroup
	)
	for _, k := range keys {
		wg.Add(1)
		p.EmitWithHeaders(topic, k, value(k), goka.Headers{"key": []byte(k)}).
			ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
				mu.Lock()
				acks[k] = ack{msg, err}
				mu.Unlock()
				wg.Done()
			})
	}
	wg.Wait()
	return acks
}

// newKgoProducer builds a producer with s.KgoProducerBuilder as goka would:
// with goka's default hasher. It is closed when t ends unless the test
// closes it first.
func newKgoProducer(t *testing.T, s kafka.Settings) goka.Producer {
	t.Helper()
	p, err := s.KgoProducerBuilder()(nil, "kgo-producer-test", goka.DefaultHasher())
	if err != nil {
		t.Fatalf("KgoProducerBuilder: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestKgoProducerPartitionsAndAcksAsGoka emits the same keys through goka's
// producer (a goka emitter on sarama) and through a KgoProducerBuilder
// producer, and checks that each key lands in the same partition both ways;
// that every promise is finished with the partition and offset the record
// was stored at, and its key and value; that headers and tombstones (a nil
// value) arrive as sent.
func TestKgoProducerPartitionsAndAcksAsGoka(t *testing.T) {
	const n = 1000
	c := clustertest.Start(t)
	s := c.Settings()
	s.Partitions = 7
	const viaGoka, viaBuilder = "acks-via-goka", "acks-via-builder"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx, viaGoka, viaBuilder); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	kafkatest.Emit(t, s, viaGoka, kafkatest.Keys(n), "v")

	tombstone := func(k string) bool { return k == "key-7" || k == "key-700" }
	acks := emitAll(t, newKgoProducer(t, s), viaBuilder, kafkatest.Keys(n), func(k string) []byte {
		if tombstone(k) {
			return nil
		}
		return []byte("value of " + k)
	})

	gokaRecs, err := kafkatest.ConsumeContext(ctx, s, viaGoka, n)
	if err != nil {
		t.Fatal(err)
	}
	gokaPartition := make(map[string]int32, n)
	for _, r := range gokaRecs {
		gokaPartition[string(r.Key)] = r.Partition
	}
	recs, err := kafkatest.ConsumeContext(ctx, s, viaBuilder, n)
	if err != nil {
		t.Fatal(err)
	}
	used := map[int32]bool{}
	for _, r := range recs {
		k := string(r.Key)
		used[r.Partition] = true
		if want := gokaPartition[k]; r.Partition != want {
			t.Errorf("key %s: partition %d, goka's producer put it in %d", k, r.Partition, want)
		}
		a := acks[k]
		switch {
		case a.err != nil:
			t.Errorf("key %s: promise failed: %v", k, a.err)
		case a.msg == nil:
			t.Errorf("key %s: promise finished without a message", k)
		case a.msg.Topic != viaBuilder || a.msg.Partition != r.Partition || a.msg.Offset != r.Offset:
			t.Errorf("key %s: promise says %s/%d@%d, stored at %s/%d@%d", k,
				a.msg.Topic, a.msg.Partition, a.msg.Offset, r.Topic, r.Partition, r.Offset)
		}
		if a.msg != nil {
			key, _ := a.msg.Key.Encode()
			value, _ := a.msg.Value.Encode()
			if string(key) != k || string(value) != string(r.Value) {
				t.Errorf("key %s: promise message has key %q and value %q, stored %q", k, key, value, r.Value)
			}
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "key" || string(r.Headers[0].Value) != k {
			t.Errorf("key %s: headers %v", k, r.Headers)
		}
		switch {
		case tombstone(k) && r.Value != nil:
			t.Errorf("key %s: a nil value arrived as %q, want a tombstone", k, r.Value)
		case !tombstone(k) && string(r.Value) != "value of "+k:
			t.Errorf("key %s: value %q", k, r.Value)
		}
	}
	if len(used) != s.Partitions {
		t.Errorf("keys landed in %d of %d partitions", len(used), s.Partitions)
	}
}

// TestKgoProducerRunsAProcessor runs goka's processor round trip (outputs,
// table, committed offsets) with the producer, then reads the group table's
// changelog: the last count written for each key, through the producer, is
// the processor's final count. (A goka view would read it too, but goka's
// View never closes its sarama clients.)
func TestKgoProducerRunsAProcessor(t *testing.T) {
	const records, keys = 1000, 100
	c := clustertest.Start(t)
	s := c.Settings()
	roundTrip(t, s, "kgo-round-trip", records, keys, goka.WithProducerBuilder(s.KgoProducerBuilder()))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// One changelog record per input record (and the warm-up record's).
	changelog, err := kafkatest.ConsumeContext(ctx, s, string(goka.GroupTable("kgo-round-trip")), records+1)
	if err != nil {
		t.Fatal(err)
	}
	last := make(map[string]int64)
	for _, r := range changelog {
		v, err := new(codec.Int64).Decode(r.Value)
		if err != nil {
			t.Fatalf("changelog record of %s: %v", r.Key, err)
		}
		last[string(r.Key)] = v.(int64)
	}
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		if last[key] != records/keys {
			t.Errorf("changelog: last count of %s is %d, want %d", key, last[key], records/keys)
		}
	}
}

// TestKgoProducerCloseFlushes emits records and closes the producer at once:
// Close returns after every promise was finished without error. An emit
// after Close does not panic, as it would with sarama; its promise fails
// with kafka.ErrProducerClosed.
func TestKgoProducerCloseFlushes(t *testing.T) {
	const n = 2000
	c := clustertest.Start(t)
	s := c.Settings()
	p := newKgoProducer(t, s)
	var (
		mu       sync.Mutex
		finished int
		failed   []error
	)
	for _, k := range kafkatest.Keys(n) {
		p.Emit("close-flushes", k, []byte("v")).Then(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			finished++
			if err != nil {
				failed = append(failed, err)
			}
		})
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	if finished != n || len(failed) > 0 {
		t.Errorf("after Close: %d of %d promises finished, %d failed (first: %v)", finished, n, len(failed), errors.Join(failed...))
	}
	mu.Unlock()

	errc := make(chan error, 1)
	p.Emit("close-flushes", "late", []byte("v")).Then(func(err error) { errc <- err })
	select {
	case err := <-errc:
		if !errors.Is(err, kafka.ErrProducerClosed) || !errors.Is(err, kgo.ErrClientClosed) {
			t.Errorf("emit after Close: %v, want kafka.ErrProducerClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the promise of an emit after Close was not finished")
	}
}
