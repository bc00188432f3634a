package gokaadapter_test

import (
	"fmt"
	"strconv"
	"strings"
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

// Every kind of bad input under every error policy, with both producers:
// what happens to the bad record and to the processor. The outcomes are
// logged as the rows of docs/reliability.md's bad-input table
// (go test -run TestBadInputOutcomes -v ./goka_adapter/).
func TestBadInputOutcomes(t *testing.T) {
	kinds := []struct {
		name string
		// value is the bad record's value; callback runs for every
		// decoded record, the bad one included.
		value    func() []byte
		callback func(output goka.Stream) func(goka.Context, any)
	}{
		{"undecodable", func() []byte { return []byte("{not json") }, emitEach},
		{"undecodable, larger than the dead-letter topic accepts", func() []byte { return []byte(bigValue()) }, emitEach},
		{"emit larger than the output topic accepts", func() []byte { return seqRecord("", "bad", 1).Value },
			func(output goka.Stream) func(goka.Context, any) {
				big := emitBig(output)
				return func(ctx goka.Context, msg any) {
					if ctx.Key() == "bad" {
						big(ctx)
						return
					}
					ctx.Emit(output, ctx.Key(), msg)
				}
			}},
		{"callback panics", func() []byte { return seqRecord("", "bad", 1).Value },
			func(output goka.Stream) func(goka.Context, any) {
				return func(ctx goka.Context, msg any) {
					if ctx.Key() == "bad" {
						explodeInRemoteCall(ctx.Key())
					}
					ctx.Emit(output, ctx.Key(), msg)
				}
			}},
	}
	policies := []struct {
		name   string
		policy asyncdsl.ErrorPolicy
	}{{"fail", asyncdsl.FailOnError}, {"skip", asyncdsl.SkipOnError}, {"dead letter", asyncdsl.DeadLetterOnError}}

	for _, producer := range []string{"sarama", "franz-go"} {
		t.Run(producer, func(t *testing.T) {
			s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
			adm := kadm.NewClient(kafkatest.Client(t, s))
			for ki, kind := range kinds {
				for pi, pol := range policies {
					t.Run(kind.name+"/"+pol.name, func(t *testing.T) {
						t.Parallel()
						group := fmt.Sprintf("bad-%s-%d-%d", producer, ki, pi)
						input, output, dlq := goka.Stream(group+"-in"), goka.Stream(group+"-out"), group+"-dlq"
						kafkatest.EnsureTopics(t, s, input)
						createSmallTopic(t, adm, string(output))
						createSmallTopic(t, adm, dlq)
						logs := &logcapture.Log{}
						a := adapterFor(t, s,
							gokaadapter.WithProducerBuilder(producers(s)[producer]),
							gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(pol.policy)),
							gokaadapter.WithDeadLetterTopic(goka.Stream(dlq)),
							gokaadapter.WithLogger(logs.Logger()))
						g := goka.DefineGroup(goka.Group(group),
							a.Input(input, seqCodec{}, kind.callback(output)),
							goka.Output(output, seqCodec{}))
						proc, err := a.NewProcessor(s.Brokers, g)
						if err != nil {
							t.Fatal(err)
						}
						r := run(t, proc)

						// The bad record is alone in its partition (a broker
						// refuses a batch, and records batched with it would
						// share its refusal); good records go to another.
						p := keyPartition("bad", 4)
						bad := &kgo.Record{Topic: string(input), Key: []byte("bad"), Value: kind.value()}
						recs := []*kgo.Record{bad}
						for _, k := range keysOfPartition("good", (p+1)%4, 4, 5) {
							recs = append(recs, seqRecord(string(input), k, 1))
						}
						kafkatest.Produce(t, kafkatest.Client(t, s), recs...)

						outcome := badInputOutcome(t, s, r, adm, group, string(input), dlq, bad, logs, pol.policy)
						t.Logf("| %s | %s | %s | %s |", kind.name, pol.name, producer, outcome)
					})
				}
			}
		})
	}
}

// emitEach emits every decoded record.
func emitEach(output goka.Stream) func(goka.Context, any) {
	return func(ctx goka.Context, msg any) { ctx.Emit(output, ctx.Key(), msg) }
}

// badInputOutcome waits for the processor to deal with the bad record under
// policy, checks what the policy promises, and describes what happened.
func badInputOutcome(t *testing.T, s kafka.Settings, r *running, adm *kadm.Client, group, input, dlq string, bad *kgo.Record, logs *logcapture.Log, policy asyncdsl.ErrorPolicy) string {
	t.Helper()
	if policy == asyncdsl.FailOnError {
		err := r.wait(t, 60*time.Second)
		if err == nil {
			t.Fatal("Run returned nil")
		}
		if got := committed(t, adm, group, input)[bad.Partition]; got > bad.Offset {
			t.Errorf("committed %d, past the bad record at %d", got, bad.Offset)
		}
		return fmt.Sprintf("processor stops; not committed; error %d bytes", len(err.Error()))
	}
	waitCommitted(t, adm, group, input, endOffsets(t, adm, input), 60*time.Second)
	counts := r.proc.Adapter().Executor().Stats().Counts
	if err := r.stop(t); err != nil {
		t.Fatalf("processor: %v", err)
	}
	if policy == asyncdsl.SkipOnError {
		if counts.Skipped != 1 {
			t.Errorf("counts %+v, want one skipped record", counts)
		}
		if !strings.Contains(logs.String(), "offset="+strconv.FormatInt(bad.Offset, 10)) {
			t.Errorf("no log line names the skipped record:\n%s", logs.String())
		}
		return "skipped, committed; logged, counted"
	}
	dead := kafkatest.Consume(t, s, dlq, 1, 30*time.Second)[0]
	h := headerMap(dead)
	if h[gokaadapter.HeaderOffset] != strconv.FormatInt(bad.Offset, 10) {
		t.Errorf("dead letter of offset %s, want %d", h[gokaadapter.HeaderOffset], bad.Offset)
	}
	if reduced := h[gokaadapter.HeaderReduced]; reduced != "" {
		if counts.DeadLettersReduced != 1 || len(dead.Value) != 0 {
			t.Errorf("reduced dead letter with %d bytes of value; counts %+v", len(dead.Value), counts)
		}
		return fmt.Sprintf("dead-lettered without its value (%s bytes left out); committed; logged, counted", h[gokaadapter.HeaderValueSize])
	}
	if string(dead.Value) != string(bad.Value) {
		t.Errorf("dead letter's value differs from the record's")
	}
	return fmt.Sprintf("dead-lettered (error header %d bytes); committed", len(h[gokaadapter.HeaderError]))
}
