package kafka

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KgoProducerBuilder returns a goka producer builder whose producers send
// through a franz-go client instead of sarama's async producer. A processor
// gets it with goka.WithProducerBuilder, an async one with
// gokaadapter.WithProducerBuilder; everything else stays on sarama.
//
// Why: goka's producer hands every message to sarama across an unbuffered
// channel, and sarama moves it through four more goroutines, each with its
// own channel hand-off, before it is batched; the acknowledgement comes back
// the same way. A franz-go client appends the record to its partition's
// buffer under a lock and acknowledges whole batches. The riffle benchmark
// measures what that is worth (docs/benchmarks.md, tables 1 to 3).
//
// What stays the same: records are partitioned with the hasher goka passes
// (through sarama's hash partitioner, SaramaCompatHasher), so keys land in
// the partitions goka reads them from; a promise is finished with a
// sarama.ProducerMessage carrying the topic, partition, offset, key and value,
// which goka's table writes need (they store the acknowledged offset).
//
// From s.Sarama it takes how to connect: TLS (Net.TLS) and SASL (Net.SASL:
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER), so that it reaches a
// secured cluster as goka's sarama clients do. A mechanism it cannot carry
// over (GSSAPI) makes the builder fail with ErrUnsupportedSASL: then call
// KgoProducerBuilder on a copy of the Settings whose Sarama has SASL off
// (goka's own clients keep the original), with kgo.SASL among opts. The rest of
// the sarama producer settings do not apply: the client is idempotent
// (franz-go's default), so it waits for all in-sync replicas (on the
// one-broker embedded cluster, the same as the leader's ack) and a retried
// batch cannot be duplicated or reordered; it lingers
// DefaultKgoProducerLinger for a batch to fill; it buffers up to franz-go's
// MaxBufferedRecords, after which an emit blocks until the broker has
// acknowledged some, as sarama's input channel blocks. Pass franz-go options
// to change any of this; they come after riffle's.
//
// Close flushes what was emitted (waiting up to KgoProducerCloseTimeout, as
// goka's producer waits up to 60 s for its acknowledgements) and then closes
// the client. An emit after Close does not panic, as sarama's does: its
// promise fails with ErrProducerClosed.
func (s Settings) KgoProducerBuilder(opts ...kgo.Opt) goka.ProducerBuilder {
	cfg := s.SaramaConfig()
	_, _, securityErr := kgoSecurity(cfg)
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		if securityErr != nil {
			return nil, fmt.Errorf("kafka: franz-go producer: %w", securityErr)
		}
		// Each producer gets its own guard: it remembers whether its
		// client ever authenticated.
		security, g, _ := kgoSecurity(cfg)
		base := []kgo.Opt{
			kgo.SeedBrokers(s.brokersOr(brokers)...),
			kgo.RecordPartitioner(kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(hashWith(hasher)))),
			kgo.AllowAutoTopicCreation(),
			kgo.ProducerLinger(DefaultKgoProducerLinger),
		}
		if clientID != "" {
			base = append(base, kgo.ClientID(clientID))
		}
		base = append(base, security...)
		cl, err := kgo.NewClient(append(base, opts...)...)
		if err != nil {
			return nil, fmt.Errorf("kafka: franz-go producer: %w", err)
		}
		// A producer retries a connection the cluster refuses for as long
		// as a record may wait (forever, by default): with SASL, the
		// builder checks the credentials once, so that refused ones fail
		// here rather than hang every emit.
		if err := checkAuth(cl, g); err != nil {
			cl.Close()
			return nil, fmt.Errorf("kafka: franz-go producer: %w", err)
		}
		return &kgoProducer{client: cl, guard: g}, nil
	}
}

// DefaultKgoProducerLinger is how long KgoProducerBuilder's producers let a
// partition's batch fill before sending it. Lingering trades requests for
// acknowledgement latency, and an async processor holds every record until
// its writes are acknowledged: the shorter the linger, the fewer records
// wait, and the fewer hit the executor's pending bounds. A sync processor,
// which waits for no acknowledgement, is a little faster with a longer
// linger: pass kgo.ProducerLinger to choose otherwise. docs/benchmarks.md
// has the measurements.
const DefaultKgoProducerLinger = time.Millisecond

// KgoProducerCloseTimeout bounds how long a KgoProducerBuilder producer's
// Close waits for the acknowledgements of what was emitted.
const KgoProducerCloseTimeout = 60 * time.Second

// ErrProducerClosed fails the emits made after a KgoProducerBuilder producer
// was closed.
var ErrProducerClosed = errors.New("kafka: producer closed")

// hashWith adapts goka's hasher to franz-go's hash function. A goka hasher
// returns a new hash.Hash32 per call, as sarama's hash partitioner expects.
func hashWith(hasher func() hash.Hash32) func([]byte) uint32 {
	if hasher == nil {
		hasher = goka.DefaultHasher()
	}
	return func(key []byte) uint32 {
		h := hasher()
		_, _ = h.Write(key) // hash.Hash never returns an error
		return h.Sum32()
	}
}

// kgoProducer is a goka.Producer on a franz-go client. The client is safe
// for concurrent use, and so is the guard of its SASL mechanism (nil without
// SASL), so kgoProducer holds no state of its own.
type kgoProducer struct {
	client *kgo.Client
	guard  *authGuard
}

func (p *kgoProducer) Emit(topic string, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

// EmitWithHeaders hands the record to the client and returns at once, unless
// the client's buffer is full (then it waits for room). The promise is
// finished on the client's promise goroutine, one record at a time, in the
// order the partition's records were acknowledged.
func (p *kgoProducer) EmitWithHeaders(topic string, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	e := &kgoEmit{key: key, finish: finish, guard: p.guard}
	e.record = newRecord(topic, key, value, headers)
	p.client.Produce(context.Background(), &e.record, e.acked)
	return promise
}

// EmitFunc is EmitWithHeaders without goka's promise: done is called once,
// on the client's promise goroutine (so it must not block), with the
// partition and offset the record was stored at, or with the error. It
// saves each record the promise, its finisher and the sarama message that
// goka's promise callbacks read: half of the allocations of an emit.
// gokaadapter's emit queues use it when the processor's producer has it.
func (p *kgoProducer) EmitFunc(topic string, key string, value []byte, headers goka.Headers, done func(partition int32, offset int64, err error)) {
	e := &kgoFuncEmit{done: done, guard: p.guard}
	e.record = newRecord(topic, key, value, headers)
	p.client.Produce(context.Background(), &e.record, e.acked)
}

func newRecord(topic string, key string, value []byte, headers goka.Headers) kgo.Record {
	r := kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	if len(headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, 0, len(headers))
		for k, v := range headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: v})
		}
	}
	return r
}

// kgoEmit is one emitted record with what its acknowledgement needs, in one
// allocation.
type kgoEmit struct {
	record kgo.Record
	key    string
	finish goka.PromiseFinisher
	guard  *authGuard
}

func (e *kgoEmit) acked(r *kgo.Record, err error) {
	e.finish(newAckMessage(r, e.key), producerErr(err, e.guard))
}

// kgoFuncEmit is kgoEmit for EmitFunc.
type kgoFuncEmit struct {
	record kgo.Record
	done   func(partition int32, offset int64, err error)
	guard  *authGuard
}

func (e *kgoFuncEmit) acked(r *kgo.Record, err error) {
	e.done(r.Partition, r.Offset, producerErr(err, e.guard))
}

// producerErr marks the failure of a record that the client dropped because
// it was closed with ErrProducerClosed, and of one whose client the cluster
// did not let in with ErrAuthenticationFailed.
func producerErr(err error, g *authGuard) error {
	if errors.Is(err, kgo.ErrClientClosed) {
		return fmt.Errorf("%w: %w", ErrProducerClosed, err)
	}
	return authError(err, g)
}

// ackMessage is what goka's promise callbacks read (goka's table writes
// store msg.Offset; a user's ThenWithMessage may read the rest), with the
// key and value encoders beside it, so that the message and its encoders
// are one allocation: a pointer to an encoder is an Encoder too.
type ackMessage struct {
	msg   sarama.ProducerMessage
	key   sarama.StringEncoder
	value sarama.ByteEncoder
}

func newAckMessage(r *kgo.Record, key string) *sarama.ProducerMessage {
	m := &ackMessage{key: sarama.StringEncoder(key), value: sarama.ByteEncoder(r.Value)}
	m.msg = sarama.ProducerMessage{
		Topic:     r.Topic,
		Key:       &m.key,
		Value:     &m.value,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
	}
	return &m.msg
}

// Close waits for the acknowledgements of what was emitted, up to
// KgoProducerCloseTimeout, and closes the client; records still unacknowledged
// then fail with ErrProducerClosed.
func (p *kgoProducer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), KgoProducerCloseTimeout)
	defer cancel()
	err := p.client.Flush(ctx)
	p.client.Close()
	if err != nil {
		return fmt.Errorf("kafka: franz-go producer: flush on close: %w", err)
	}
	return nil
}
