package gokaadapter_test

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxMessageBytes is the max.message.bytes of the topics that refuse large
// records in these tests: small, so that a refusal is cheap to provoke,
// and well above a reduced dead letter.
const maxMessageBytes = 2048

// createSmallTopic creates topic with 4 partitions and max.message.bytes
// maxMessageBytes, so that the broker refuses larger record batches.
func createSmallTopic(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v := strconv.Itoa(maxMessageBytes)
	resp, err := adm.CreateTopic(ctx, 4, 1, map[string]*string{"max.message.bytes": &v}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// producers are the two producers riffle runs on: goka's (sarama's async
// producer) and franz-go's.
func producers(s kafka.Settings) map[string]goka.ProducerBuilder {
	return map[string]goka.ProducerBuilder{
		"sarama":   s.ProducerBuilder(),
		"franz-go": s.KgoProducerBuilder(),
	}
}

// An undecodable record too large for the dead-letter topic, under the
// dead-letter policy: the broker refuses its dead letter, the adapter
// writes a reduced one (no value, its size and the refusal in headers),
// the processor keeps running and commits past it, and a restarted
// processor does not stop on it either.
func TestOversizedDeadLetterIsReduced(t *testing.T) {
	for _, name := range []string{"sarama", "franz-go"} {
		t.Run(name, func(t *testing.T) {
			c := clustertest.Start(t, broker.WithPartitions(4))
			s := c.Settings()
			adm := kadm.NewClient(kafkatest.Client(t, s))
			group := "oversized-dlq-" + name
			input, output, dlq := goka.Stream(group+"-in"), goka.Stream(group+"-out"), group+"-rejects"
			kafkatest.EnsureTopics(t, s, input, output)
			createSmallTopic(t, adm, dlq)
			logs := &logcapture.Log{}
			start := func() *running {
				a := adapterFor(t, s,
					gokaadapter.WithProducerBuilder(producers(s)[name]),
					gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)),
					gokaadapter.WithDeadLetterTopic(goka.Stream(dlq)),
					gokaadapter.WithLogger(logs.Logger()))
				g := goka.DefineGroup(goka.Group(group),
					a.Input(input, seqCodec{}, func(ctx goka.Context, msg any) {
						ctx.Emit(output, ctx.Key(), msg.(seqMsg))
					}),
					goka.Output(output, seqCodec{}),
				)
				proc, err := a.NewProcessor(s.Brokers, g)
				if err != nil {
					t.Fatal(err)
				}
				return run(t, proc)
			}

			r := start()
			// Random bytes: not JSON, and larger than the dead-letter
			// topic's limit even when the producer compresses them.
			value := make([]byte, 4*maxMessageBytes)
			_, _ = rand.NewChaCha8([32]byte{1}).Read(value)
			big := &kgo.Record{Topic: string(input), Key: []byte("big"), Value: value}
			kafkatest.Produce(t, kafkatest.Client(t, s), seqRecord(string(input), "big", 1), big, seqRecord(string(input), "big", 2))

			dead := kafkatest.Consume(t, s, dlq, 1, 30*time.Second)[0]
			h := headerMap(dead)
			if len(dead.Value) != 0 {
				t.Errorf("reduced dead letter has a value of %d bytes", len(dead.Value))
			}
			want := map[string]string{
				gokaadapter.HeaderTopic:          string(input),
				gokaadapter.HeaderPartition:      strconv.Itoa(int(big.Partition)),
				gokaadapter.HeaderOffset:         strconv.FormatInt(big.Offset, 10),
				gokaadapter.HeaderValueSize:      strconv.Itoa(len(big.Value)),
				gokaadapter.HeaderAttempts:       "1",
				gokaadapter.HeaderIdempotencyKey: string(input) + "/" + strconv.Itoa(int(big.Partition)) + "@" + strconv.FormatInt(big.Offset, 10) + "#" + group,
			}
			for k, v := range want {
				if h[k] != v {
					t.Errorf("dead letter header %s = %q, want %q", k, h[k], v)
				}
			}
			if string(dead.Key) != "big" {
				t.Errorf("dead letter key %q, want big", dead.Key)
			}
			if e := h[gokaadapter.HeaderError]; !strings.Contains(e, "cannot decode") {
				t.Errorf("dead letter error %q does not carry the decode error", e)
			}
			if e := h[gokaadapter.HeaderReduced]; !strings.Contains(e, "refused") || !strings.Contains(e, dlq) {
				t.Errorf("dead letter's %s %q does not say that the full one was refused", gokaadapter.HeaderReduced, e)
			}
			// The key's records around it are processed, and the group
			// commits past it.
			if got := kafkatest.Consume(t, s, string(output), 2, 30*time.Second); len(got) != 2 {
				t.Errorf("%d outputs, want 2", len(got))
			}
			waitCommitted(t, adm, group, string(input), endOffsets(t, adm, string(input)), 30*time.Second)
			counts := r.proc.Adapter().Executor().Stats().Counts
			if counts.DeadLettersReduced != 1 || counts.DeadLettered != 1 || counts.Refused != 1 {
				t.Errorf("counts %+v, want one refused dead letter, written reduced", counts)
			}
			if l := logs.String(); !strings.Contains(l, "written again without the record's value") {
				t.Errorf("no log line about the reduced dead letter:\n%s", l)
			}
			if err := r.stop(t); err != nil {
				t.Fatalf("processor: %v", err)
			}

			// A restart finds nothing to stop on and keeps processing.
			r = start()
			kafkatest.Produce(t, kafkatest.Client(t, s), seqRecord(string(input), "big", 3))
			if got := kafkatest.Consume(t, s, string(output), 3, 30*time.Second); len(got) != 3 {
				t.Errorf("%d outputs after the restart, want 3", len(got))
			}
			waitCommitted(t, adm, group, string(input), endOffsets(t, adm, string(input)), 30*time.Second)
			if err := r.stop(t); err != nil {
				t.Fatalf("restarted processor: %v", err)
			}
		})
	}
}

// bigValue is a value larger than maxMessageBytes, also once compressed.
func bigValue() string {
	raw := make([]byte, 4*maxMessageBytes)
	_, _ = rand.NewChaCha8([32]byte{2}).Read(raw)
	return hex.EncodeToString(raw)
}

// emitBig makes the poison record emit a value larger than the output
// topic (and the producers, when their limits match it) accepts.
func emitBig(output goka.Stream) func(goka.Context) {
	big := bigValue()
	return func(ctx goka.Context) {
		ctx.Emit(output, "poison", seqMsg{Key: big, Seq: -1})
	}
}

// An emit that the producer refuses before sending (too large) goes to the
// record's error policy instead of stopping the processor.
func TestRefusedEmit(t *testing.T) {
	for _, name := range []string{"sarama", "franz-go"} {
		t.Run(name, func(t *testing.T) {
			c := clustertest.Start(t, broker.WithPartitions(4))
			s := c.Settings()
			// The producers' own limits match the output topic's, as
			// docs/architecture.md recommends: they refuse the large
			// record before sending, alone.
			s.Sarama.Producer.MaxMessageBytes = maxMessageBytes
			producer := s.ProducerBuilder()
			if name == "franz-go" {
				producer = s.KgoProducerBuilder(kgo.ProducerBatchMaxBytes(maxMessageBytes))
			}
			adm := kadm.NewClient(kafkatest.Client(t, s))
			start := func(t *testing.T, policy string, opts ...gokaadapter.Option) *policyCase {
				caseName := "refused-" + policy + "-" + name
				output := goka.Stream("policy-" + caseName + "-out")
				createSmallTopic(t, adm, string(output))
				opts = append(opts, gokaadapter.WithProducerBuilder(producer))
				return startPolicyCase(t, s, caseName, emitBig(output), opts...)
			}

			t.Run("skip", func(t *testing.T) {
				logs := &logcapture.Log{}
				pc := start(t, "skip", gokaadapter.WithLogger(logs.Logger()),
					gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError)))
				p := pc.produceAround()
				waitCommitted(t, pc.adm, string(pc.group), string(pc.input), endOffsets(t, pc.adm, string(pc.input)), 30*time.Second)
				checkGoodOutputs(t, pc)
				counts := pc.r.proc.Adapter().Executor().Stats().Counts
				if counts.Skipped != 1 || counts.Refused != 1 {
					t.Errorf("counts %+v, want one refused record, skipped", counts)
				}
				line := "record skipped by the error policy"
				offset := "offset=" + strconv.FormatInt(pc.poisonAt.Load(), 10)
				if l := logs.String(); !strings.Contains(l, line) || !strings.Contains(l, offset) || !strings.Contains(l, "partition="+strconv.Itoa(int(p))) {
					t.Errorf("no log line %q with %s:\n%s", line, offset, l)
				}
				if err := pc.r.stop(t); err != nil {
					t.Fatalf("processor: %v", err)
				}
			})

			t.Run("dead letter", func(t *testing.T) {
				pc := start(t, "dlq", gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)))
				p := pc.produceAround()
				h := pc.checkDeadLetter(pc.deadLetter(), p, "1")
				if !strings.Contains(h[gokaadapter.HeaderError], "refused") {
					t.Errorf("dead letter error %q does not say the write was refused", h[gokaadapter.HeaderError])
				}
				waitCommitted(t, pc.adm, string(pc.group), string(pc.input), endOffsets(t, pc.adm, string(pc.input)), 30*time.Second)
				checkGoodOutputs(t, pc)
				if err := pc.r.stop(t); err != nil {
					t.Fatalf("processor: %v", err)
				}
			})

			t.Run("fail", func(t *testing.T) {
				pc := start(t, "fail")
				p := pc.produceAround()
				err := pc.r.wait(t, 30*time.Second)
				if err == nil || !strings.Contains(err.Error(), "refused") {
					t.Fatalf("Run returned %v, want the refusal", err)
				}
				if got := committed(t, pc.adm, string(pc.group), string(pc.input))[p]; got > pc.poisonAt.Load() {
					t.Errorf("partition %d committed %d, past the failed record at %d", p, got, pc.poisonAt.Load())
				}
			})
		})
	}
}

// An emit that the broker refuses (larger than the topic's
// max.message.bytes, the producers' limits left at their defaults) goes to
// the error policy too. The poison record is alone in its partition: the
// broker refuses a batch, and records batched with it would share its
// refusal (docs/architecture.md, "Limits").
func TestEmitRefusedByTheBroker(t *testing.T) {
	for _, name := range []string{"sarama", "franz-go"} {
		t.Run(name, func(t *testing.T) {
			s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
			adm := kadm.NewClient(kafkatest.Client(t, s))
			caseName := "broker-refused-" + name
			output := goka.Stream("policy-" + caseName + "-out")
			createSmallTopic(t, adm, string(output))
			pc := startPolicyCase(t, s, caseName, emitBig(output),
				gokaadapter.WithProducerBuilder(producers(s)[name]),
				gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError)))
			p := keyPartition("poison", 4)
			recs := []*kgo.Record{seqRecord(string(pc.input), "poison", 1)}
			for _, k := range keysOfPartition("other", (p+1)%4, 4, 10) {
				recs = append(recs, seqRecord(string(pc.input), k, 1))
			}
			kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
			waitCommitted(t, pc.adm, string(pc.group), string(pc.input), endOffsets(t, pc.adm, string(pc.input)), 30*time.Second)
			checkGoodOutputs(t, pc)
			if counts := pc.r.proc.Adapter().Executor().Stats().Counts; counts.Skipped != 1 || counts.Refused != 1 {
				t.Errorf("counts %+v, want one refused record, skipped", counts)
			}
			if err := pc.r.stop(t); err != nil {
				t.Fatalf("processor: %v", err)
			}
		})
	}
}

// checkGoodOutputs checks that the 10 good records of pc have outputs.
func checkGoodOutputs(t *testing.T, pc *policyCase) {
	t.Helper()
	keys := map[string]bool{}
	for _, r := range consumeToEnd(t, pc.s, pc.adm, string(pc.output), 30*time.Second) {
		keys[string(r.Key)] = true
	}
	delete(keys, "poison") // its small emit may have been written
	if len(keys) != 10 {
		t.Errorf("outputs of %v, want the 10 good records", keys)
	}
}

var errRejected = errors.New("remote service rejected the order")

// When a record stops the processor, Run's error names its cause once, and
// counts the later records of the partition instead of listing them; none
// of them is committed.
func TestStopErrorIsShort(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	adm := kadm.NewClient(kafkatest.Client(t, s))
	const later = 200
	group, input := goka.Group("short-stop"), goka.Stream("short-stop-in")
	kafkatest.EnsureTopics(t, s, input)
	p := keyPartition("poison", 4)
	// The poison record fails once every later record of its partition
	// has run: they are all in flight (finished, held back) then.
	var ran sync.WaitGroup
	ran.Add(later)
	a := adapterFor(t, s)
	g := goka.DefineGroup(group, goka.Input(input, seqCodec{}, a.Async(func(ctx goka.Context, msg any) {
		if ctx.Key() == "poison" {
			ran.Wait()
			ctx.Fail(asyncdsl.Permanent(errRejected))
		}
		ran.Done()
	})))
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, proc)
	recs := []*kgo.Record{seqRecord(string(input), "poison", 1)}
	for _, k := range keysOfPartition("after", p, 4, later) {
		recs = append(recs, seqRecord(string(input), k, 1))
	}
	kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
	poisonAt := recs[0].Offset

	err = r.wait(t, 60*time.Second)
	if err == nil {
		t.Fatal("Run returned nil after a failed record")
	}
	msg := err.Error()
	if n := strings.Count(msg, errRejected.Error()); n != 1 {
		t.Errorf("Run's error names the cause %d times, want once", n)
	}
	m := regexp.MustCompile(`(\d+) later record\(s\) not committed`).FindStringSubmatch(msg)
	if m == nil {
		t.Errorf("Run's error does not count the later records:\n%.3000s", msg)
	} else if n, _ := strconv.Atoi(m[1]); n < later {
		t.Errorf("Run's error counts %d later records, want at least %d", n, later)
	}
	t.Logf("Run's error: %d bytes", len(msg))
	if len(msg) > 4096 {
		t.Errorf("Run's error is %d bytes long:\n%.3000s", len(msg), msg)
	}
	var stop *gokaadapter.PartitionStopError
	if !errors.As(err, &stop) || stop.Offset != poisonAt || stop.NotCommitted() < later {
		t.Errorf("Run's error does not wrap the partition's *PartitionStopError with the count: %v", stop)
	}
	if got := committed(t, adm, string(group), string(input))[p]; got > poisonAt {
		t.Errorf("partition %d committed %d, past the failed record at %d", p, got, poisonAt)
	}
}

// encodeFailsCodec decodes like seqCodec but cannot encode.
type encodeFailsCodec struct{ seqCodec }

func (encodeFailsCodec) Encode(any) ([]byte, error) {
	return nil, errors.New("encodeFailsCodec: cannot encode")
}

// A dead letter whose value its codec cannot encode again is written
// without it, instead of stopping the processor (which would stop again on
// the record after every restart).
func TestDeadLetterOfAValueItsCodecCannotEncode(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	adm := kadm.NewClient(kafkatest.Client(t, s))
	group, input := "encode-fails", goka.Stream("encode-fails-in")
	kafkatest.EnsureTopics(t, s, input)
	a := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)))
	g := goka.DefineGroup(goka.Group(group), a.Input(input, encodeFailsCodec{}, func(ctx goka.Context, _ any) {
		if ctx.Key() == "poison" {
			ctx.Fail(errRejected)
		}
	}))
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, proc)
	poison := seqRecord(string(input), "poison", 1)
	poison.Headers = []kgo.RecordHeader{{Key: "trace-id", Value: []byte("abc")}}
	kafkatest.Produce(t, kafkatest.Client(t, s), poison, seqRecord(string(input), "good", 1))
	dead := kafkatest.Consume(t, s, group+"-dead-letters", 1, 30*time.Second)[0]
	h := headerMap(dead)
	if len(dead.Value) != 0 || !strings.Contains(h[gokaadapter.HeaderReduced], "cannot encode") ||
		h[gokaadapter.HeaderValueSize] != "-1" || h["trace-id"] != "abc" ||
		!strings.Contains(h[gokaadapter.HeaderError], errRejected.Error()) {
		t.Errorf("dead letter: value %d bytes, headers %v; want no value, the encoding error, the record's headers and its error", len(dead.Value), h)
	}
	waitCommitted(t, adm, group, string(input), endOffsets(t, adm, string(input)), 30*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatalf("processor: %v", err)
	}
}
