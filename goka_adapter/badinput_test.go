package gokaadapter_test

import (
	"errors"
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
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Records that the input's codec cannot decode, on an input declared with
// Adapter.Input, go through the error policy with their coordinates.
func TestUndecodableInput(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	adm := kadm.NewClient(kafkatest.Client(t, s))

	// start runs a group reading name-in with a JSON codec and emitting
	// every decoded record to name-out.
	start := func(t *testing.T, name string, opts ...gokaadapter.Option) (goka.Stream, goka.Stream, *running) {
		t.Helper()
		input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
		kafkatest.EnsureTopics(t, s, input, output)
		a := adapterFor(t, s, opts...)
		g := goka.DefineGroup(goka.Group(name),
			a.Input(input, seqCodec{}, func(ctx goka.Context, msg any) {
				ctx.Emit(output, ctx.Key(), msg.(seqMsg))
			}),
			goka.Output(output, seqCodec{}),
		)
		proc, err := a.NewProcessor(s.Brokers, g)
		if err != nil {
			t.Fatal(err)
		}
		return input, output, run(t, proc)
	}
	badRecord := func(topic, key string, i int) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(`{"k": "` + key + `", "s": oops` + strconv.Itoa(i))}
	}

	// Default policy: the processor stops with a *DecodeError that names the
	// record.
	t.Run("fail", func(t *testing.T) {
		input, _, r := start(t, "badinput-fail")
		kafkatest.Produce(t, kafkatest.Client(t, s),
			seqRecord(string(input), "k1", 1),
			badRecord(string(input), "k1", 0),
			seqRecord(string(input), "k1", 2),
		)
		err := r.wait(t, 30*time.Second)
		if err == nil {
			t.Fatal("Run returned nil after an undecodable record")
		}
		p := keyPartition("k1", 4)
		var de *gokaadapter.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("Run's error does not wrap a *gokaadapter.DecodeError: %v", err)
		}
		if de.Topic != string(input) || de.Partition != p || de.Offset != 1 || de.Key != "k1" {
			t.Errorf("DecodeError names %s/%d@%d key %q, want %s/%d@1 key k1", de.Topic, de.Partition, de.Offset, de.Key, input, p)
		}
		if want := fmt.Sprintf("%s/%d@1", input, p); !strings.Contains(err.Error(), want) {
			t.Errorf("Run's error does not name the record %s: %v", want, err)
		}
		if got := committed(t, adm, "badinput-fail", string(input))[p]; got > 1 {
			t.Errorf("partition %d committed %d, past the undecodable record at 1", p, got)
		}
	})

	// Dead-letter policy: the undecodable records land, byte for byte, in
	// the dead-letter topic with their coordinates; every good record is
	// processed.
	t.Run("dead letter", func(t *testing.T) {
		const dlq = "badinput-dlq-rejects"
		input, output, r := start(t, "badinput-dlq",
			gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)),
			gokaadapter.WithDeadLetterTopic(dlq))
		const keys, perKey = 10, 5
		var recs []*kgo.Record
		bad := map[string]*kgo.Record{} // by value
		for seq := 1; seq <= perKey; seq++ {
			for k := 0; k < keys; k++ {
				key := "k" + strconv.Itoa(k)
				recs = append(recs, seqRecord(string(input), key, seq))
				if seq == 3 && k%3 == 0 {
					b := badRecord(string(input), key, len(bad))
					bad[string(b.Value)] = b
					recs = append(recs, b)
				}
			}
		}
		kafkatest.Produce(t, kafkatest.Client(t, s), recs...) // sets the offsets of bad records

		outputs := countSeqs(decodeSeqs(t, kafkatest.Consume(t, s, string(output), keys*perKey, 30*time.Second)))
		if missing := outputs.missing(keys, perKey, 10); len(missing) > 0 {
			t.Errorf("good records without output: %v", missing)
		}
		dead := kafkatest.Consume(t, s, dlq, len(bad), 30*time.Second)
		for _, d := range dead {
			orig, ok := bad[string(d.Value)]
			if !ok {
				t.Errorf("dead letter %q is not one of the undecodable records", d.Value)
				continue
			}
			delete(bad, string(d.Value))
			h := headerMap(d)
			want := map[string]string{
				gokaadapter.HeaderTopic:          string(input),
				gokaadapter.HeaderPartition:      strconv.Itoa(int(orig.Partition)),
				gokaadapter.HeaderOffset:         strconv.FormatInt(orig.Offset, 10),
				gokaadapter.HeaderGroup:          "badinput-dlq",
				gokaadapter.HeaderIdempotencyKey: fmt.Sprintf("%s/%d@%d#badinput-dlq", input, orig.Partition, orig.Offset),
			}
			for k, v := range want {
				if h[k] != v {
					t.Errorf("dead letter of %s: header %s = %q, want %q", orig.Key, k, h[k], v)
				}
			}
			if string(d.Key) != string(orig.Key) {
				t.Errorf("dead letter key %q, want %q", d.Key, orig.Key)
			}
			if e := h[gokaadapter.HeaderError]; !strings.Contains(e, "cannot decode") || !strings.Contains(e, "seqCodec") {
				t.Errorf("dead letter error %q does not carry the decode error", e)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%d undecodable records not dead-lettered", len(bad))
		}
		waitCommitted(t, adm, "badinput-dlq", string(input), endOffsets(t, adm, string(input)), 30*time.Second)
		if err := r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
	})
}
