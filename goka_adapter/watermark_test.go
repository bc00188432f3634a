package gokaadapter_test

import (
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The commit watermark: while an early record of a partition is still
// running, the group's committed offset of that partition stays at that
// record, although later records of other keys in the same partition have
// finished and their outputs are visible. Other partitions commit meanwhile,
// which shows that commit rounds do happen. Once the slow record finishes,
// the partition commits to its end.
func TestCommitWatermarkHoldsBehindSlowRecord(t *testing.T) {
	const (
		group      = goka.Group("watermark")
		input      = goka.Stream("watermark-in")
		output     = goka.Stream("watermark-out")
		partitions = 4
		slowP      = int32(1)
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	slowKey := keysOfPartition("slow", slowP, partitions, 1)[0]
	// Keys of the slow partition, and keys of the others, for the records
	// that finish while the slow one runs.
	sameP := keysOfPartition("same", slowP, partitions, 10)
	var otherP []string
	for p := int32(0); p < partitions; p++ {
		if p != slowP {
			otherP = append(otherP, keysOfPartition("other", p, partitions, 5)...)
		}
	}

	unblock := make(chan struct{})
	slowStarted := make(chan int64, 1)
	a := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(16)))
	cb := func(ctx goka.Context, msg any) {
		m := msg.(seqMsg)
		if ctx.Key() == slowKey {
			slowStarted <- ctx.Offset()
			select {
			case <-unblock:
			case <-ctx.Context().Done():
				ctx.Fail(ctx.Context().Err())
			}
		}
		ctx.SetValue(int64(m.Seq))
		ctx.Emit(output, ctx.Key(), m)
	}
	proc := newSeqProcessor(t, a, s, group, input, output, cb)
	r := run(t, proc)
	cl := kafkatest.Client(t, s)
	adm := kadm.NewClient(kafkatest.Client(t, s))

	// Records of other keys before the slow record in its partition, the
	// slow record, then records of other keys behind it in its partition
	// and in the other partitions.
	var before, recs []*kgo.Record
	for _, k := range sameP {
		before = append(before, seqRecord(string(input), k, 1))
	}
	kafkatest.Produce(t, cl, before...)
	kafkatest.Produce(t, cl, seqRecord(string(input), slowKey, 1))
	for seq := 2; seq <= 5; seq++ {
		for _, k := range append(append([]string(nil), sameP...), otherP...) {
			recs = append(recs, seqRecord(string(input), k, seq))
		}
	}
	kafkatest.Produce(t, cl, recs...)

	var slowOffset int64
	select {
	case slowOffset = <-slowStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow record did not start")
	}
	// Every record but the slow one finished: its output is visible.
	kafkatest.Consume(t, s, string(output), len(before)+len(recs), 30*time.Second)

	ends := endOffsets(t, adm, string(input))
	if slowOffset == 0 || ends[slowP] <= slowOffset+1 {
		t.Fatalf("want records before and behind the slow one in partition %d (end %d, slow at %d)", slowP, ends[slowP], slowOffset)
	}
	maxLag := int64(0)
	check := func() {
		t.Helper()
		got := committed(t, adm, string(group), string(input))
		if got[slowP] > slowOffset {
			t.Fatalf("partition %d committed %d, past the unfinished record at offset %d", slowP, got[slowP], slowOffset)
		}
		if lag := ends[slowP] - got[slowP]; got[slowP] > 0 && lag > maxLag {
			maxLag = lag
		}
	}

	// Other partitions commit to their end; the slow partition exactly to
	// the slow record (everything before it is done).
	want := map[int32]int64{}
	for p, end := range ends {
		want[p] = end
	}
	want[slowP] = slowOffset
	await.Until(t, 30*time.Second, "partitions to commit up to the slow record", func() bool {
		check()
		got := committed(t, adm, string(group), string(input))
		for p, w := range want {
			if got[p] != w {
				return false
			}
		}
		return true
	})

	// Two more commit rounds, observed on the other partitions: each wave
	// is committed on them while the slow partition stays put.
	for wave := 2; wave <= 3; wave++ {
		var more []*kgo.Record
		for _, k := range otherP {
			more = append(more, seqRecord(string(input), k, 10*wave))
		}
		kafkatest.Produce(t, cl, more...)
		wantOthers := map[int32]int64{}
		for p, end := range endOffsets(t, adm, string(input)) {
			if p != slowP {
				wantOthers[p] = end
			}
		}
		await.Until(t, 30*time.Second, "other partitions to commit the next wave", func() bool {
			check()
			got := committed(t, adm, string(group), string(input))
			for p, w := range wantOthers {
				if got[p] != w {
					return false
				}
			}
			return true
		})
		check()
	}
	t.Logf("partition %d: committed held at %d (slow record) with %d finished records behind it; max committed lag %d",
		slowP, slowOffset, ends[slowP]-slowOffset-1, maxLag)

	close(unblock)
	waitCommitted(t, adm, string(group), string(input), map[int32]int64{slowP: ends[slowP]}, 30*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatalf("processor: %v", err)
	}
}
