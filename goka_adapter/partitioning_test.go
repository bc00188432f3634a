package gokaadapter_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/riffle-streams/riffle/tracing"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// misplaced returns records of key k written, with a manual partitioner, to
// the partition after the one goka puts k in.
func misplaced(topic string, partitions int, keys ...string) []*kgo.Record {
	var recs []*kgo.Record
	for i, k := range keys {
		r := seqRecord(topic, k, i+1)
		r.Partition = (keyPartition(k, partitions) + 1) % int32(partitions)
		recs = append(recs, r)
	}
	return recs
}

// manualClient writes each record to its Partition field.
func manualClient(t testing.TB, s kafka.Settings) *kgo.Client {
	return kafkatest.Client(t, s, kgo.RecordPartitioner(kgo.ManualPartitioner()))
}

// Records written to a partition that their key does not hash to are
// counted per partition and logged once per partition; they are still
// processed. Correctly partitioned records around them are not flagged.
func TestMispartitionedCountedAndLoggedOnce(t *testing.T) {
	const name, partitions = "mispart-count", 4
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	logs := &logcapture.Log{}
	a := adapterFor(t, s, gokaadapter.WithLogger(logs.Logger()))
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	proc := newSeqProcessor(t, a, s, goka.Group(name), input, output, func(ctx goka.Context, msg any) {
		mu.Lock()
		seen[ctx.Key()]++
		mu.Unlock()
	})
	r := run(t, proc)

	// Three misplaced records of keys of partition 0 (so in partition 1),
	// and one of partition 2 (so in partition 3), between good records.
	bad := misplaced(string(input), partitions, append(keysOfPartition("bad", 0, partitions, 3), keysOfPartition("bad", 2, partitions, 1)...)...)
	var recs []*kgo.Record
	for p := range int32(partitions) {
		for _, k := range keysOfPartition("good", p, partitions, 5) {
			g := seqRecord(string(input), k, 1)
			g.Partition = p
			recs = append(recs, g)
		}
	}
	kafkatest.Produce(t, manualClient(t, s), append(recs, bad...)...)
	waitCommitted(t, adm, name, string(input), endOffsets(t, adm, string(input)), 30*time.Second)

	want := map[int32]int64{0: 0, 1: 3, 2: 0, 3: 1}
	for p, n := range want {
		if got := a.Mispartitioned(string(input), p); got != n {
			t.Errorf("Mispartitioned(%s, %d) = %d, want %d", input, p, got, n)
		}
	}
	// The inspection of the adapter lists the same counts.
	listed := 0
	for _, pi := range tracing.Inspect(a, 0).Partitions {
		if pi.Topic == string(input) {
			listed++
			if pi.Mispartitioned != want[pi.Partition] {
				t.Errorf("inspection of partition %d: %d mis-partitioned, want %d", pi.Partition, pi.Mispartitioned, want[pi.Partition])
			}
		}
	}
	if listed == 0 {
		t.Errorf("the inspection lists no partition of %s", input)
	}
	lines := logs.Matching("does not partition as goka does")
	if len(lines) != 2 {
		t.Fatalf("%d log lines about mis-partitioned records, want 2 (one per partition):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	first := bad[0]
	wantLine := fmt.Sprintf("topic=%s partition=%d ", input, first.Partition)
	if !strings.Contains(strings.Join(lines, "\n"), wantLine) || !strings.Contains(strings.Join(lines, "\n"), "key="+string(first.Key)) {
		t.Errorf("log lines do not name the first misplaced record (%s, key %q):\n%s", wantLine, first.Key, strings.Join(lines, "\n"))
	}
	mu.Lock()
	for _, rec := range append(recs, bad...) {
		if seen[string(rec.Key)] != 1 {
			t.Errorf("key %s processed %d times, want 1", rec.Key, seen[string(rec.Key)])
		}
	}
	mu.Unlock()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// With WithStrictPartitioning, a misplaced record goes to the error policy
// as a *MispartitionedError: skipped, dead-lettered with the error in its
// headers, or, by default, stopping the processor without committing it.
// Correctly partitioned records are processed.
func TestStrictPartitioning(t *testing.T) {
	const partitions = 4
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	adm := kadm.NewClient(kafkatest.Client(t, s))
	type result struct {
		a      *gokaadapter.Adapter
		r      *running
		input  goka.Stream
		bad    *kgo.Record
		called func(key string) int
	}
	start := func(t *testing.T, name string, opts ...gokaadapter.Option) result {
		t.Helper()
		input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
		kafkatest.EnsureTopics(t, s, input, output)
		a := adapterFor(t, s, append([]gokaadapter.Option{gokaadapter.WithStrictPartitioning(), gokaadapter.WithLogger((&logcapture.Log{}).Logger())}, opts...)...)
		var (
			mu   sync.Mutex
			seen = map[string]int{}
		)
		proc := newSeqProcessor(t, a, s, goka.Group(name), input, output, func(ctx goka.Context, msg any) {
			mu.Lock()
			seen[ctx.Key()]++
			mu.Unlock()
			ctx.Emit(output, ctx.Key(), msg.(seqMsg))
		})
		r := run(t, proc)
		good := keysOfPartition("good", 1, partitions, 2)
		bad := misplaced(string(input), partitions, keysOfPartition("bad", 0, partitions, 1)...)[0] // in partition 1
		g1, g2 := seqRecord(string(input), good[0], 1), seqRecord(string(input), good[1], 1)
		g1.Partition, g2.Partition = 1, 1
		kafkatest.Produce(t, manualClient(t, s), g1, bad, g2)
		return result{a: a, r: r, input: input, bad: bad, called: func(key string) int {
			mu.Lock()
			defer mu.Unlock()
			return seen[key]
		}}
	}

	t.Run("fail", func(t *testing.T) {
		res := start(t, "strict-fail")
		err := res.r.wait(t, 30*time.Second)
		var me *gokaadapter.MispartitionedError
		if !errors.As(err, &me) {
			t.Fatalf("Run's error does not wrap a *gokaadapter.MispartitionedError: %v", err)
		}
		if me.Topic != string(res.input) || me.Partition != 1 || me.Offset != res.bad.Offset || me.Key != string(res.bad.Key) || me.Expected != 0 {
			t.Errorf("error names %s/%d@%d key %q expected %d, want %s/1@%d key %q expected 0",
				me.Topic, me.Partition, me.Offset, me.Key, me.Expected, res.input, res.bad.Offset, res.bad.Key)
		}
		if got := committed(t, adm, "strict-fail", string(res.input))[1]; got > res.bad.Offset {
			t.Errorf("partition 1 committed %d, past the misplaced record at %d", got, res.bad.Offset)
		}
		if n := res.called(string(res.bad.Key)); n != 0 {
			t.Errorf("callback ran %d times for the misplaced record", n)
		}
	})

	t.Run("skip", func(t *testing.T) {
		res := start(t, "strict-skip", gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError)))
		waitCommitted(t, adm, "strict-skip", string(res.input), endOffsets(t, adm, string(res.input)), 30*time.Second)
		if n := res.called(string(res.bad.Key)); n != 0 {
			t.Errorf("callback ran %d times for the skipped misplaced record", n)
		}
		for _, k := range keysOfPartition("good", 1, partitions, 2) {
			if n := res.called(k); n != 1 {
				t.Errorf("good record %s processed %d times, want 1", k, n)
			}
		}
		if got := res.a.Mispartitioned(string(res.input), 1); got != 1 {
			t.Errorf("Mispartitioned = %d, want 1", got)
		}
		if err := res.r.stop(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("dead letter", func(t *testing.T) {
		res := start(t, "strict-dlq", gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)))
		dead := kafkatest.Consume(t, s, "strict-dlq-dead-letters", 1, 30*time.Second)
		h := headerMap(dead[0])
		if string(dead[0].Key) != string(res.bad.Key) || h[gokaadapter.HeaderOffset] != strconv.FormatInt(res.bad.Offset, 10) {
			t.Errorf("dead letter key %q offset %s, want the misplaced record (key %q offset %d)", dead[0].Key, h[gokaadapter.HeaderOffset], res.bad.Key, res.bad.Offset)
		}
		if e := h[gokaadapter.HeaderError]; !strings.Contains(e, "wrong partition") || !strings.Contains(e, "partition 0") {
			t.Errorf("dead letter error %q does not say where the key belongs", e)
		}
		waitCommitted(t, adm, "strict-dlq", string(res.input), endOffsets(t, adm, string(res.input)), 30*time.Second)
		if err := res.r.stop(t); err != nil {
			t.Fatal(err)
		}
	})
}

// Records written with goka's partitioning (the test client partitions as
// goka does) are never flagged, for many random keys, binary ones included.
func TestCorrectlyPartitionedNeverFlagged(t *testing.T) {
	const name, partitions, n = "mispart-never", 4, 2000
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	logs := &logcapture.Log{}
	a := adapterFor(t, s, gokaadapter.WithStrictPartitioning(), gokaadapter.WithLogger(logs.Logger()))
	r := run(t, newSeqProcessor(t, a, s, goka.Group(name), input, output, func(goka.Context, any) {}))
	rng := rand.New(rand.NewPCG(11, 3))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		key := make([]byte, rng.IntN(24)+1)
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		recs[i] = &kgo.Record{Topic: string(input), Key: key, Value: []byte(`{"k":"x","s":1}`)}
	}
	kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
	// Strict mode with the default fail policy: one flagged record would
	// stop the processor before the input is committed.
	waitCommitted(t, adm, name, string(input), endOffsets(t, adm, string(input)), 60*time.Second)
	for p := range int32(partitions) {
		if got := a.Mispartitioned(string(input), p); got != 0 {
			t.Errorf("partition %d: %d records flagged", p, got)
		}
	}
	if lines := logs.Matching("partition"); len(lines) > 0 {
		t.Errorf("logged: %s", strings.Join(lines, "\n"))
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// Input written by a Java-compatible producer (murmur2: franz-go's
// kgo.StickyKeyPartitioner(nil), the Java client's default partitioner).
// Under goka's default hasher (FNV-1a) most keys are flagged and their state
// is not where goka looks it up; with Murmur2Hasher on goka
// (goka.WithHasher) and on the adapter (gokaadapter.WithHasher) nothing is
// flagged and every key's state is found.
func TestMurmur2ProducedInput(t *testing.T) {
	const partitions, keys, perKey = 4, 40, 3
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	adm := kadm.NewClient(kafkatest.Client(t, s))
	javaLike := kafkatest.Client(t, s, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))

	runGroup := func(t *testing.T, name string, gokaOpts []goka.ProcessorOption, opts ...gokaadapter.Option) (flagged int64, stateFound int) {
		t.Helper()
		input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
		kafkatest.EnsureTopics(t, s, input, output)
		a := adapterFor(t, s, append([]gokaadapter.Option{gokaadapter.WithLogger((&logcapture.Log{}).Logger())}, opts...)...)
		g := goka.DefineGroup(goka.Group(name),
			goka.Input(input, seqCodec{}, a.Async(func(ctx goka.Context, msg any) {
				n := int64(0)
				if v := ctx.Value(); v != nil {
					n = v.(int64)
				}
				ctx.SetValue(n + 1)
			})),
			goka.Persist(new(codec.Int64)),
		)
		proc, err := a.NewProcessor(s.Brokers, g, gokaOpts...)
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, proc)
		produceSequences(t, javaLike, string(input), keys, perKey)
		waitCommitted(t, adm, name, string(input), endOffsets(t, adm, string(input)), 30*time.Second)
		for p := range int32(partitions) {
			flagged += a.Mispartitioned(string(input), p)
		}
		for k := range keys {
			// Get looks in the partition goka's hasher picks for the key.
			if v, err := proc.Get("k" + strconv.Itoa(k)); err == nil && v == int64(perKey) {
				stateFound++
			}
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		return flagged, stateFound
	}

	t.Run("default hasher", func(t *testing.T) {
		flagged, found := runGroup(t, "murmur-fnv", nil)
		if flagged == 0 || found == keys {
			t.Fatalf("%d records flagged, state of %d of %d keys found: want records flagged and state missing", flagged, found, keys)
		}
		t.Logf("FNV-1a: %d of %d records flagged, state of %d of %d keys found", flagged, keys*perKey, found, keys)
	})
	t.Run("murmur2 hasher", func(t *testing.T) {
		flagged, found := runGroup(t, "murmur-ok",
			[]goka.ProcessorOption{goka.WithHasher(gokaadapter.Murmur2Hasher())},
			gokaadapter.WithHasher(gokaadapter.Murmur2Hasher()))
		if flagged != 0 || found != keys {
			t.Fatalf("%d records flagged, state of %d of %d keys found: want none flagged, all found", flagged, found, keys)
		}
	})
}
