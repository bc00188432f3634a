package gokaadapter_test

import (
	"hash"
	"math/rand/v2"
	"testing"

	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// hashPartition is goka's and sarama's partition arithmetic over a hasher:
// the hash as int32, negated if negative, modulo the partition count.
func hashPartition(h hash.Hash32, key []byte, n int) int {
	_, _ = h.Write(key)
	p := int32(h.Sum32())
	if p < 0 {
		p = -p
	}
	return int(p % int32(n))
}

// Murmur2Hasher agrees with Kafka's murmur2 on the Java client's test
// vectors (org.apache.kafka.common.utils.UtilsTest, masked to 31 bits as
// the default partitioner does).
func TestMurmur2Vectors(t *testing.T) {
	for key, java := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		h := gokaadapter.Murmur2Hasher()()
		_, _ = h.Write([]byte(key))
		if got, want := h.Sum32(), uint32(java)&0x7fffffff; got != want {
			t.Errorf("murmur2(%q) = %d, want %d", key, got, want)
		}
	}
}

// For random keys (empty, short, long, binary) and partition counts,
// Murmur2Hasher through goka's partition arithmetic picks the partition
// that franz-go's murmur2 partitioner (kgo.StickyKeyPartitioner(nil), the
// Java client's default) picks. Writing the key in pieces, and reusing the
// hasher after Reset, give the same hash.
func TestMurmur2MatchesKafkaPartitioner(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	kafka := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	reused := gokaadapter.Murmur2Hasher()()
	for i := range 20000 {
		key := make([]byte, rng.IntN(40)+1)
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		n := rng.IntN(64) + 1
		want := kafka.Partition(&kgo.Record{Key: key}, n)
		if got := hashPartition(gokaadapter.Murmur2Hasher()(), key, n); got != want {
			t.Fatalf("key %x, %d partitions: partition %d, want %d (franz-go)", key, n, got, want)
		}
		cut := rng.IntN(len(key) + 1)
		reused.Reset()
		_, _ = reused.Write(key[:cut])
		_, _ = reused.Write(key[cut:])
		one := gokaadapter.Murmur2Hasher()()
		_, _ = one.Write(key)
		if reused.Sum32() != one.Sum32() {
			t.Fatalf("key %x (case %d): hash written in two pieces after Reset differs", key, i)
		}
	}
}
