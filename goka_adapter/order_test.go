package gokaadapter_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Per-key order under random latencies, end to end on the embedded broker:
// every record sees its predecessor's state, outputs of a key come out in
// sequence, and the final state of each key is its last sequence number.
// With goka's producer and with the franz-go one
// (kafka.Settings.KgoProducerBuilder), whose acknowledgements come from
// another goroutine and in whole batches.
func TestPerKeyOrderUnderRandomLatency(t *testing.T) {
	t.Run("goka producer", func(t *testing.T) { testPerKeyOrder(t, nil) })
	t.Run("franz-go producer", func(t *testing.T) {
		testPerKeyOrder(t, func(s kafka.Settings) goka.ProducerBuilder { return s.KgoProducerBuilder() })
	})
}

// testPerKeyOrder is TestPerKeyOrderUnderRandomLatency with the producer
// producer returns (nil: the adapterFor default, goka's).
func testPerKeyOrder(t *testing.T, producer func(kafka.Settings) goka.ProducerBuilder) {
	const (
		keys   = 300
		perKey = 12
		group  = goka.Group("order")
		input  = goka.Stream("order-in")
		output = goka.Stream("order-out")
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	opts := []gokaadapter.Option{gokaadapter.WithExecutor(asyncdsl.WithWorkers(64), asyncdsl.WithSeed(1))}
	if producer != nil {
		opts = append(opts, gokaadapter.WithProducerBuilder(producer(s)))
	}
	a := adapterFor(t, s, opts...)
	step := func(ctx goka.Context, msg any) {
		m := msg.(seqMsg)
		// A remote call of random latency, 0 to 3 ms.
		d := time.Duration(rand.IntN(3000)) * time.Microsecond
		select {
		case <-time.After(d):
		case <-ctx.Context().Done():
			ctx.Fail(ctx.Context().Err())
		}
		prev := int64(0)
		if v := ctx.Value(); v != nil {
			prev = v.(int64)
		}
		if prev != int64(m.Seq-1) {
			ctx.Fail(fmt.Errorf("key %s: record %d saw state %d", m.Key, m.Seq, prev))
		}
		ctx.SetValue(int64(m.Seq))
		ctx.Emit(output, ctx.Key(), m)
	}
	proc := newSeqProcessor(t, a, s, group, input, output, step)
	r := run(t, proc)

	n := produceSequences(t, kafkatest.Client(t, s), string(input), keys, perKey)
	recs := kafkatest.Consume(t, s, string(output), n, 60*time.Second)

	last := map[string]int{}
	for _, rec := range recs {
		var m seqMsg
		if err := json.Unmarshal(rec.Value, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != last[m.Key]+1 {
			t.Fatalf("key %s: output %d after %d", m.Key, m.Seq, last[m.Key])
		}
		last[m.Key] = m.Seq
	}
	if len(last) != keys {
		t.Fatalf("outputs for %d keys, want %d", len(last), keys)
	}
	adm := kadm.NewClient(kafkatest.Client(t, s))
	ends := endOffsets(t, adm, string(input))
	await.Until(t, 30*time.Second, "committed offsets to reach the end of the input", func() bool {
		got := committed(t, adm, string(group), string(input))
		for p, end := range ends {
			if got[p] != end {
				return false
			}
		}
		return true
	})
	if err := r.stop(t); err != nil {
		t.Fatalf("processor: %v", err)
	}
	// The group table holds every key's last sequence number.
	table := kafkatest.Consume(t, s, string(goka.GroupTable(group)), n, 30*time.Second)
	state := map[string]int64{}
	for _, rec := range table {
		v, err := new(codec.Int64).Decode(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		if want := state[string(rec.Key)] + 1; v.(int64) != want {
			t.Fatalf("table key %s: %d after %d", rec.Key, v, state[string(rec.Key)])
		}
		state[string(rec.Key)] = v.(int64)
	}
	for k, v := range state {
		if v != perKey {
			t.Fatalf("key %s: final state %d, want %d", k, v, perKey)
		}
	}
}
