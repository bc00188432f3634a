package gokaadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// adapterFor returns an adapter wired to the cluster's builders, with
// in-memory storage, plus extra options.
func adapterFor(t testing.TB, s kafka.Settings, opts ...gokaadapter.Option) *gokaadapter.Adapter {
	t.Helper()
	base := []gokaadapter.Option{
		gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(s.ProducerBuilder()),
		gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
	}
	a, err := gokaadapter.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("gokaadapter.New: %v", err)
	}
	return a
}

// running is a processor running in the background.
type running struct {
	proc   *gokaadapter.Processor
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned; err is set then
	err    error
}

// stop cancels the processor and waits for Run to return.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.wait(t, 90*time.Second)
}

// wait waits for Run to return, without cancelling it.
func (r *running) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("processor did not stop within %s", timeout)
		return nil
	}
}

// run starts proc and waits until it is ready.
func run(t testing.TB, proc *gokaadapter.Processor) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{proc: proc, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = proc.Run(ctx)
	}()
	t.Cleanup(func() { _ = r.stop(t) })
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := proc.WaitForReadyContext(readyCtx); err != nil {
		t.Fatalf("processor not ready: %v", err)
	}
	return r
}

// seqMsg is the test payload: the n-th record of a key.
type seqMsg struct {
	Key string `json:"k"`
	Seq int    `json:"s"`
}

// produceSequences writes records of keys k0..k(keys-1) round robin, each key
// with sequence numbers 1..perKey, and returns how many it wrote.
func produceSequences(t testing.TB, cl *kgo.Client, topic string, keys, perKey int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for s := 1; s <= perKey; s++ {
		for k := 0; k < keys; k++ {
			key := "k" + strconv.Itoa(k)
			v, _ := json.Marshal(seqMsg{Key: key, Seq: s})
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: v})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return len(recs)
}

// committed returns the group's committed offsets of topic by partition.
func committed(t testing.TB, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

// endOffsets returns the end offsets of topic by partition.
func endOffsets(t testing.TB, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// seqCodec encodes seqMsg as JSON.
type seqCodec struct{}

func (seqCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (seqCodec) Decode(b []byte) (any, error) {
	var m seqMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("seqCodec: %w", err)
	}
	return m, nil
}

var _ goka.Codec = seqCodec{}

// keyPartition is the partition goka (and kafka.KgoPartitioner) puts key in:
// FNV-1a through sarama's hash partitioner, which negates a negative hash.
func keyPartition(key string, partitions int) int32 {
	h := goka.DefaultHasher()()
	_, _ = h.Write([]byte(key))
	p := int32(h.Sum32())
	if p < 0 {
		p = -p
	}
	return p % int32(partitions)
}

// keysOfPartition returns n keys "<prefix>0", "<prefix>1", ... that goka
// puts in partition p of a topic with the given partition count.
func keysOfPartition(prefix string, p int32, partitions, n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if keyPartition(k, partitions) == p {
			keys = append(keys, k)
		}
	}
	return keys
}

// seqRecord is the record of the seq-th message of key.
func seqRecord(topic, key string, seq int) *kgo.Record {
	v, _ := json.Marshal(seqMsg{Key: key, Seq: seq})
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: v}
}

// decodeSeqs decodes output records written with seqCodec.
func decodeSeqs(t testing.TB, recs []*kgo.Record) []seqMsg {
	t.Helper()
	out := make([]seqMsg, 0, len(recs))
	for _, r := range recs {
		var m seqMsg
		if err := json.Unmarshal(r.Value, &m); err != nil {
			t.Fatalf("output %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		out = append(out, m)
	}
	return out
}

// seqSet counts, per key and sequence number, how often a seqMsg was seen.
type seqSet map[string]map[int]int

func countSeqs(msgs []seqMsg) seqSet {
	s := seqSet{}
	for _, m := range msgs {
		if s[m.Key] == nil {
			s[m.Key] = map[int]int{}
		}
		s[m.Key][m.Seq]++
	}
	return s
}

// missing lists the (key, seq) of keys k0..k(keys-1), seq 1..perKey, that
// were not seen, at most limit of them.
func (s seqSet) missing(keys, perKey, limit int) []string {
	var out []string
	for k := 0; k < keys; k++ {
		key := "k" + strconv.Itoa(k)
		for q := 1; q <= perKey; q++ {
			if s[key][q] == 0 {
				out = append(out, fmt.Sprintf("%s#%d", key, q))
				if len(out) >= limit {
					return out
				}
			}
		}
	}
	return out
}

// duplicates is how many records beyond the first were seen.
func (s seqSet) duplicates() int {
	n := 0
	for _, seqs := range s {
		for _, c := range seqs {
			n += c - 1
		}
	}
	return n
}

// checkNoSkips fails if, for a key, an output follows seq s with a seq
// greater than s+1: per-key order allows repeats (a replay after a crash or
// rebalance restarts from an earlier seq) but never a jump forward.
func checkNoSkips(t testing.TB, msgs []seqMsg) {
	t.Helper()
	last := map[string]int{}
	for _, m := range msgs {
		if m.Seq > last[m.Key]+1 {
			t.Fatalf("key %s: output %d right after %d (skipped ahead)", m.Key, m.Seq, last[m.Key])
		}
		last[m.Key] = m.Seq
	}
}

// waitCommitted waits until the group's committed offsets of topic equal
// want for every partition in want.
func waitCommitted(t testing.TB, adm *kadm.Client, group, topic string, want map[int32]int64, timeout time.Duration) {
	t.Helper()
	await.UntilNil(t, timeout, "the committed offsets of "+topic, func() error {
		got := committed(t, adm, group, topic)
		for p, w := range want {
			if got[p] != w {
				return fmt.Errorf("committed %v, want %v", got, want)
			}
		}
		return nil
	})
}

// writeLog records the writes to the storages of one table topic, per
// partition, with the owner (processor) and the storage instance that made
// them. goka builds a partition's storage at every session setup that
// assigns the partition, after the previous session released it, so the
// instances of a partition are its ownership periods in order. A write to an
// instance after a newer instance of the partition was built is a write by
// an owner that had already handed the partition over: two owners at once.
type writeLog struct {
	topic string
	mu    struct {
		sync.Mutex
		instances  int           // instances built so far
		latest     map[int32]int // newest instance by partition
		built      map[int32]int // instances by partition
		owners     map[int32][]string
		violations []string
	}
}

func newWriteLog(topic string) *writeLog {
	w := &writeLog{topic: topic}
	w.mu.latest = map[int32]int{}
	w.mu.built = map[int32]int{}
	w.mu.owners = map[int32][]string{}
	return w
}

// builder wraps base so that Set and Delete of the logged topic's storages
// are recorded as writes of owner.
func (w *writeLog) builder(owner string, base storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := base(topic, partition)
		if err != nil || topic != w.topic {
			return st, err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.mu.instances++
		w.mu.latest[partition] = w.mu.instances
		w.mu.built[partition]++
		return &recordingStorage{Storage: st, log: w, owner: owner, instance: w.mu.instances, partition: partition}, nil
	}
}

func (w *writeLog) add(s *recordingStorage, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.owners[s.partition] = append(w.mu.owners[s.partition], s.owner)
	if latest := w.mu.latest[s.partition]; latest != s.instance && len(w.mu.violations) < 10 {
		w.mu.violations = append(w.mu.violations, fmt.Sprintf(
			"partition %d: %s wrote key %s to its storage #%d after storage #%d of the partition was built",
			s.partition, s.owner, key, s.instance, latest))
	}
}

// sessions returns the most storage instances built for one partition: the
// most sessions that owned it.
func (w *writeLog) sessions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.mu.built {
		n = max(n, b)
	}
	return n
}

// violations returns the writes made by an owner after it handed over.
func (w *writeLog) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.mu.violations...)
}

// runs returns, per partition, the owners of the writes with repeats
// collapsed: "A B" means A wrote, then B wrote.
func (w *writeLog) runs() map[int32][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int32][]string{}
	for p, owners := range w.mu.owners {
		var r []string
		for _, o := range owners {
			if len(r) == 0 || r[len(r)-1] != o {
				r = append(r, o)
			}
		}
		out[p] = r
	}
	return out
}

type recordingStorage struct {
	storage.Storage
	log       *writeLog
	owner     string
	instance  int
	partition int32
}

func (s *recordingStorage) Set(key string, value []byte) error {
	s.log.add(s, key)
	return s.Storage.Set(key, value)
}

func (s *recordingStorage) Delete(key string) error {
	s.log.add(s, key)
	return s.Storage.Delete(key)
}

// consumeToEnd reads topic from the start up to its current end offsets.
func consumeToEnd(t testing.TB, s kafka.Settings, adm *kadm.Client, topic string, timeout time.Duration) []*kgo.Record {
	t.Helper()
	ends := endOffsets(t, adm, topic)
	total := 0
	for _, end := range ends {
		total += int(end)
	}
	if total == 0 {
		return nil
	}
	return kafkatest.Consume(t, s, topic, total, timeout)
}

// seqGraph is the group most tests run: cb, async, on input, emitting seqMsg
// to output, with an int64 table.
func seqGraph(a *gokaadapter.Adapter, group goka.Group, input, output goka.Stream, cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(input, seqCodec{}, a.Async(cb)),
		goka.Output(output, seqCodec{}),
		goka.Persist(new(codec.Int64)),
	)
}

// newSeqProcessor builds the processor of seqGraph on the cluster s.
func newSeqProcessor(t testing.TB, a *gokaadapter.Adapter, s kafka.Settings, group goka.Group, input, output goka.Stream, cb goka.ProcessCallback) *gokaadapter.Processor {
	t.Helper()
	proc, err := a.NewProcessor(s.Brokers, seqGraph(a, group, input, output, cb))
	if err != nil {
		t.Fatal(err)
	}
	return proc
}
