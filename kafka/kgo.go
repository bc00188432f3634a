package kafka

import (
	"hash/fnv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KgoOptions returns the options a franz-go client needs to work with s as
// goka's clients do: the seed brokers; the partitioner of KgoPartitioner, so
// that the records it produces land in the partitions goka expects them in;
// auto-creation of the topics it produces to, which sarama asks for by
// default and franz-go does not (the broker decides: the embedded cluster
// creates them, with its partition count); and the TLS and SASL settings of
// s.Sarama (see KgoProducerBuilder), with credentials the cluster refuses
// failing at once. Append options of your own after them.
//
// A SASL mechanism that cannot be carried over (GSSAPI, OAUTHBEARER without
// a token provider) makes every connection of the client fail with
// ErrUnsupportedSASL.
func (s Settings) KgoOptions() []kgo.Opt {
	opts, _ := s.kgoOptions()
	return opts
}

// kgoOptions is KgoOptions, with the guard of its SASL mechanism (nil
// without SASL).
func (s Settings) kgoOptions() ([]kgo.Opt, *authGuard) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.Brokers...),
		kgo.RecordPartitioner(KgoPartitioner()),
		kgo.AllowAutoTopicCreation(),
	}
	security, g, err := kgoSecurity(s.SaramaConfig())
	if err != nil {
		return append(opts, kgo.SASL(unsupportedMechanism{err})), nil
	}
	return append(opts, security...), g
}

// KgoPartitioner returns a franz-go partitioner that places a keyed record in
// the partition goka would: goka hashes keys with FNV-1a (goka.DefaultHasher)
// through sarama's hash partitioner, which negates a negative int32 hash
// instead of masking its sign bit as Kafka's Java client does. Records
// without a key go to a sticky random partition, as with sarama.
//
// Anything that writes into a topic goka reads (an input, a table, a loop
// topic) must partition this way, or goka delivers a key to the wrong
// partition's callback and table.
func KgoPartitioner() kgo.Partitioner {
	return kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(fnv32a))
}

func fnv32a(key []byte) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(key) // hash.Hash never returns an error
	return h.Sum32()
}
