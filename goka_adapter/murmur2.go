package gokaadapter

import (
	"encoding/binary"
	"hash"
)

// Murmur2Hasher returns a hasher for goka.WithHasher (and WithHasher, and
// goka.WithEmitterHasher, goka.WithViewHasher) that partitions keys as
// Kafka's Java client does by default: the murmur2 hash of the key, with
// the high bit cleared, modulo the partition count. That is also the
// partitioning of Kafka Streams, of librdkafka's and kcat's murmur2 and
// murmur2_random partitioners, and of franz-go's kgo.StickyKeyPartitioner(nil).
//
// Use it when a goka group reads topics written by such producers: set it
// on the processor (goka.WithHasher) and on the adapter (WithHasher), and
// on every goka emitter and view of those topics, so that records, state
// and lookups of a key all meet in one partition.
//
// The hash it returns already has the high bit cleared, so sarama's hash
// partitioner (which goka's producer uses, and which negates a negative
// hash) and goka's own partition arithmetic give the Java client's
// partition.
func Murmur2Hasher() func() hash.Hash32 {
	return func() hash.Hash32 { return &murmur2{} }
}

// murmur2 is Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2:
// seed 0x9747b28c, little-endian 4-byte blocks) masked to 31 bits. The hash
// depends on the key's length before its first byte, so Write buffers the
// key and Sum32 hashes it.
type murmur2 struct{ buf []byte }

func (h *murmur2) Write(p []byte) (int, error) {
	h.buf = append(h.buf, p...)
	return len(p), nil
}

func (h *murmur2) Sum(b []byte) []byte { return binary.BigEndian.AppendUint32(b, h.Sum32()) }
func (h *murmur2) Reset()              { h.buf = h.buf[:0] }
func (h *murmur2) Size() int           { return 4 }
func (h *murmur2) BlockSize() int      { return 4 }

func (h *murmur2) Sum32() uint32 {
	const (
		seed  = 0x9747b28c
		m     = 0x5bd1e995
		shift = 24
	)
	data := h.buf
	x := uint32(seed) ^ uint32(len(data))
	for ; len(data) >= 4; data = data[4:] {
		k := binary.LittleEndian.Uint32(data)
		k *= m
		k ^= k >> shift
		k *= m
		x = x*m ^ k
	}
	// The tail: up to three bytes, the last one first, as in Java's switch
	// with fall-through.
	switch len(data) {
	case 3:
		x ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		x ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		x ^= uint32(data[0])
		x *= m
	}
	x ^= x >> 13
	x *= m
	x ^= x >> 15
	return x & 0x7fffffff
}
