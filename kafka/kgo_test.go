package kafka_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoPartitionerMatchesSarama compares kafka.KgoPartitioner with the sarama
// partitioner goka's producers use (sarama's hash partitioner over
// goka.DefaultHasher) on many keys, half of them random bytes, so that hashes
// with the sign bit set, which sarama negates, are well represented.
func TestKgoPartitionerMatchesSarama(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ks := make([][]byte, 0, 20000)
	for i := range 10000 {
		ks = append(ks, fmt.Appendf(nil, "key-%d", i))
		k := make([]byte, 1+rng.IntN(32))
		for j := range k {
			k[j] = byte(rng.UintN(256))
		}
		ks = append(ks, k)
	}
	for _, n := range []int{1, 2, 3, 4, 7, 10, 32, 1000} {
		kp := kafka.KgoPartitioner().ForTopic("t")
		sp := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("t")
		negative := 0
		for _, k := range ks {
			if int32(kafka.Fnv32a(k)) < 0 {
				negative++
			}
			want, err := sp.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(k)}, int32(n))
			if err != nil {
				t.Fatal(err)
			}
			if got := kp.Partition(&kgo.Record{Key: k}, n); got != int(want) {
				t.Fatalf("%d partitions, key %q: franz-go partition %d, sarama %d", n, k, got, want)
			}
		}
		if negative < len(ks)/4 {
			t.Fatalf("only %d of %d keys hash negative", negative, len(ks))
		}
	}
}

// TestKgoProducerPartitionsAsGoka produces the same keys with a goka emitter
// and with a franz-go client configured by KgoOptions, and checks that every
// key lands in the same partition both ways, and that a goka processor finds
// the keys franz-go wrote in its table where it looks for them.
func TestKgoProducerPartitionsAsGoka(t *testing.T) {
	const n = 1000
	c := clustertest.Start(t)
	for _, partitions := range []int{4, 7} {
		t.Run(fmt.Sprintf("%d partitions", partitions), func(t *testing.T) {
			s := c.Settings()
			s.Partitions = partitions
			var (
				viaGoka = fmt.Sprintf("via-goka-%d", partitions)
				viaKgo  = fmt.Sprintf("via-kgo-%d", partitions)
			)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := s.EnsureTopics(ctx, viaGoka, viaKgo); err != nil {
				t.Fatalf("EnsureTopics: %v", err)
			}

			kafkatest.Emit(t, s, goka.Stream(viaGoka), kafkatest.Keys(n), "v")
			cl := kafkatest.Client(t, s)
			recs := make([]*kgo.Record, 0, n)
			for _, k := range kafkatest.Keys(n) {
				recs = append(recs, &kgo.Record{Topic: viaKgo, Key: []byte(k), Value: []byte("v")})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("ProduceSync: %v", err)
			}

			partitionOf := func(topic string) map[string]int32 {
				recs, err := kafkatest.ConsumeContext(ctx, s, topic, n)
				if err != nil {
					t.Fatal(err)
				}
				m := make(map[string]int32, len(recs))
				for _, r := range recs {
					m[string(r.Key)] = r.Partition
				}
				return m
			}
			gokaParts, kgoParts := partitionOf(viaGoka), partitionOf(viaKgo)
			used := map[int32]bool{}
			for _, k := range kafkatest.Keys(n) {
				if gokaParts[k] != kgoParts[k] {
					t.Errorf("key %s: goka partition %d, franz-go partition %d", k, gokaParts[k], kgoParts[k])
				}
				used[kgoParts[k]] = true
			}
			if len(used) != partitions {
				t.Errorf("keys landed in %d of %d partitions", len(used), partitions)
			}

			// goka's processor looks a key up in the partition its hasher
			// names; it finds each count only if franz-go put the key there.
			p := kafkatest.StartProcessor(t, s, kafkatest.CounterGroup(goka.Group("count-"+viaKgo), goka.Stream(viaKgo), goka.Stream(viaKgo+"-out")))
			// Processor.Get before the processor is ready races with goka's
			// partition setup (the race detector reports it).
			if err := p.WaitForReadyContext(ctx); err != nil {
				t.Fatalf("WaitForReady: %v", err)
			}
			for _, k := range kafkatest.Keys(n) {
				await.Until(t, 10*time.Second, "the count of "+k, func() bool {
					v, err := p.Get(k)
					return err == nil && v != nil && v.(int64) == 1
				})
			}
		})
	}
}
