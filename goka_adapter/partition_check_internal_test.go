package gokaadapter

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// For random keys and partition counts, the partition check expects the
// partition that sarama's hash partitioner with goka's hasher (goka's
// producer) writes the key to, with one hasher reused across keys.
func TestPartitionCheckMatchesSarama(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for _, n := range []int32{1, 2, 3, 4, 6, 7, 12, 32, 100} {
		c := partitionCheck{partitions: n, hasher: goka.DefaultHasher()()}
		part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("t")
		for range 5000 {
			key := make([]byte, rng.IntN(30)+1)
			for j := range key {
				key[j] = byte(rng.UintN(256))
			}
			want, err := part.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.expected(string(key))
			if !ok || got != want {
				t.Fatalf("key %x, %d partitions: expected %d (%v), sarama writes it to %d", key, n, got, ok, want)
			}
		}
	}
	c := partitionCheck{partitions: 4, hasher: goka.DefaultHasher()()}
	if _, ok := c.expected(""); ok {
		t.Error("an empty key is checked")
	}
	if _, ok := (&partitionCheck{}).expected("k"); ok {
		t.Error("a key is checked without a partition count")
	}
}

// The partition check of one record: hashing its key with goka's default
// hasher, reused.
func BenchmarkPartitionCheck(b *testing.B) {
	c := partitionCheck{partitions: 12, hasher: goka.DefaultHasher()()}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "customer-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.expected(keys[i%len(keys)])
	}
}
