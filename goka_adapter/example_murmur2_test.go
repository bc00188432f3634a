package gokaadapter_test

import (
	"fmt"
	"hash"

	"github.com/lovoo/goka"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// A group that reads topics written by Java clients or Kafka Streams
// (murmur2) sets Murmur2Hasher on goka and on the adapter, so that keys
// are placed, and checked, as those producers place them. The partitions
// printed are the Java client's for a 6-partition topic.
func ExampleMurmur2Hasher() {
	murmur2 := gokaadapter.Murmur2Hasher()
	async, err := gokaadapter.New(gokaadapter.WithHasher(murmur2))
	if err != nil {
		panic(err)
	}
	defer async.Close()
	// The same hasher for goka: async.NewProcessor(brokers, graph, procOpts...).
	procOpts := []goka.ProcessorOption{goka.WithHasher(murmur2)}
	_ = procOpts

	partition := func(h func() hash.Hash32, key string) int32 {
		hh := h()
		_, _ = hh.Write([]byte(key))
		return int32(hh.Sum32()) % 6 // Murmur2Hasher's hash is never negative
	}
	for _, key := range []string{"order-1", "order-2", "customer-42"} {
		fmt.Printf("%s: partition %d\n", key, partition(murmur2, key))
	}
	// Output:
	// order-1: partition 4
	// order-2: partition 3
	// customer-42: partition 3
}
