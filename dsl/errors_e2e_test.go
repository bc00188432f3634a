package dsl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startTopology runs topo on s until the end of the test and waits until it
// is ready.
func startTopology(t *testing.T, topo *dsl.Topology, s kafka.Settings, opts ...dsl.RunOption) *dsl.Running {
	t.Helper()
	r, err := topo.Start(context.Background(), append([]dsl.RunOption{dsl.OnCluster(s)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// produceValues writes key/value records to topic, in order.
func produceValues(t *testing.T, s kafka.Settings, topic string, kvs ...string) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i+1 < len(kvs); i += 2 {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(kvs[i]), Value: []byte(kvs[i+1])})
	}
	kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
	return recs
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func orderJSON(id string, amount int64) string {
	v, _ := json.Marshal(Order{ID: id, Amount: amount})
	return string(v)
}

// checkDeadLetter checks that d is the dead letter of orig with an error
// that contains errPart.
func checkDeadLetter(t *testing.T, d, orig *kgo.Record, group, errPart string) {
	t.Helper()
	if string(d.Key) != string(orig.Key) || string(d.Value) != string(orig.Value) {
		t.Errorf("dead letter %s=%q, want the record as consumed, %s=%q", d.Key, d.Value, orig.Key, orig.Value)
	}
	for k, want := range map[string]string{
		gokaadapter.HeaderTopic:          orig.Topic,
		gokaadapter.HeaderPartition:      strconv.Itoa(int(orig.Partition)),
		gokaadapter.HeaderOffset:         strconv.FormatInt(orig.Offset, 10),
		gokaadapter.HeaderGroup:          group,
		gokaadapter.HeaderIdempotencyKey: fmt.Sprintf("%s/%d@%d#%s", orig.Topic, orig.Partition, orig.Offset, group),
	} {
		if got := header(d, k); got != want {
			t.Errorf("dead letter of %s: header %s = %q, want %q", orig.Value, k, got, want)
		}
	}
	if e := header(d, gokaadapter.HeaderError); !strings.Contains(e, errPart) {
		t.Errorf("dead letter of %s: error %q does not contain %q", orig.Value, e, errPart)
	}
}

// An undecodable input record of a group with an Async step under a
// dead-letter policy goes to the group's dead-letter topic,
// "<group>-dead-letters", and the topology keeps running. Before, the DSL
// declared its inputs with plain goka.Input, and goka stopped the whole
// topology on the record.
func TestUndecodableInputOfAsyncGroupIsDeadLettered(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	b := dsl.NewBuilder("badin")
	pool := dsl.NewPool("remote", asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError))
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	dsl.ProcessValues(orders, func(c *dsl.ValuesContext[int64], _ string, o Order) error {
		c.Forward(o.Amount)
		return nil
	}).Async(pool).To("amounts", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	const dlq = "badin-orders-dead-letters"
	if got := topo.Groups()[0].DeadLetters; got != dlq {
		t.Fatalf("Groups()[0].DeadLetters = %q, want %q", got, dlq)
	}
	if !strings.Contains(topo.Describe(), "dead letters to "+dlq) {
		t.Errorf("Describe does not show the dead-letter topic:\n%s", topo.Describe())
	}
	r := startTopology(t, topo, s)

	recs := produceValues(t, s, "orders",
		"k1", orderJSON("a", 1),
		"k1", `{"id": oops`,
		"k1", orderJSON("b", 2))
	dead := kafkatest.Consume(t, s, dlq, 1, 60*time.Second)
	checkDeadLetter(t, dead[0], recs[1], "badin-orders", "cannot decode")
	out := kafkatest.Consume(t, s, "amounts", 2, 60*time.Second)
	if got := string(out[0].Value) + "," + string(out[1].Value); got != "1,2" {
		t.Errorf("amounts %s, want 1,2", got)
	}

	// Still running: a later record is processed too.
	produceValues(t, s, "orders", "k1", orderJSON("c", 3))
	if out := kafkatest.Consume(t, s, "amounts", 3, 60*time.Second); string(out[2].Value) != "3" {
		t.Errorf("after the dead letter, amount %q, want 3", out[2].Value)
	}
	if err := r.Stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// A group without an Async step applies the topology's policy
// (dsl.WithErrorPolicy) to undecodable records and to failing steps, and
// writes its dead letters to the topic of dsl.WithDeadLetterTopic.
func TestSyncGroupErrorPolicy(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	const dlq = "syncpol-rejects"
	b := dsl.NewBuilder("syncpol",
		dsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
		dsl.WithDeadLetterTopic(dlq))
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	dsl.ProcessValues(orders, func(c *dsl.ValuesContext[int64], _ string, o Order) error {
		if o.Amount < 0 {
			return fmt.Errorf("negative amount %d", o.Amount)
		}
		c.Forward(o.Amount)
		return nil
	}).To("amounts", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.Groups()[0].DeadLetters; got != dlq {
		t.Fatalf("Groups()[0].DeadLetters = %q, want %q", got, dlq)
	}
	r := startTopology(t, topo, s)

	recs := produceValues(t, s, "orders",
		"k1", orderJSON("a", 1),
		"k1", `{"id": oops`,
		"k1", orderJSON("b", -5),
		"k1", orderJSON("c", 2))
	dead := kafkatest.Consume(t, s, dlq, 2, 60*time.Second)
	checkDeadLetter(t, dead[0], recs[1], "syncpol-orders", "cannot decode")
	checkDeadLetter(t, dead[1], recs[2], "syncpol-orders", "negative amount -5")
	out := kafkatest.Consume(t, s, "amounts", 2, 60*time.Second)
	if got := string(out[0].Value) + "," + string(out[1].Value); got != "1,2" {
		t.Errorf("amounts %s, want 1,2", got)
	}
	if err := r.Stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// Under the default policy, a group without an Async step stops the
// topology on an undecodable record, with an error that names it.
func TestSyncGroupFailsOnUndecodableRecord(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	b := dsl.NewBuilder("syncfail")
	dsl.From(b, "orders", codec.JSON[Order]()).To("copies", codec.JSON[Order]())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	r := startTopology(t, topo, s)
	recs := produceValues(t, s, "orders", "k1", `{"id": oops`)
	done := make(chan error, 1)
	go func() { done <- r.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the topology did not stop on an undecodable record")
	}
	// goka formats a sync callback's failure with %v, so the error names
	// the record but does not wrap a *gokaadapter.DecodeError.
	want := fmt.Sprintf("cannot decode record orders/%d@%d", recs[0].Partition, recs[0].Offset)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Wait = %v, want an error containing %q", err, want)
	}
}

// A topology with a table in a group without an Async step (Count) and one
// in an async group (a store) runs twice, each time against a new embedded
// cluster: with the default storage (memory), and with LevelDB in one
// directory, where the second run finds caches ahead of the new cluster's
// tables, says so in the log and rebuilds them. Before, the DSL used goka's
// LevelDB path, and the second run stopped with "kafka tells us there's no
// message in the topic, but our cache has one".
func TestRunTwiceOnNewClusters(t *testing.T) {
	build := func(t *testing.T) *dsl.Topology {
		b := dsl.NewBuilder("twice")
		pool := dsl.NewPool("p")
		st := dsl.NewStore(b, "sums", codec.Int64())
		orders := dsl.From(b, "orders", codec.JSON[Order]())
		orders.GroupByKey().Count("counts").ToStream().To("counts-out", codec.Int64())
		dsl.ProcessValues(orders.SelectKey(func(_ string, o Order) string { return o.Customer }),
			func(c *dsl.ValuesContext[int64], _ string, o Order) error {
				n, _, err := st.Get(c)
				if err != nil {
					return err
				}
				n += o.Amount
				if err := st.Set(c, n); err != nil {
					return err
				}
				c.Forward(n)
				return nil
			}, dsl.WithStore(st)).Async(pool).To("sums-out", codec.Int64())
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return topo
	}
	// runOnce runs the topology on a new cluster, sends three orders of one
	// customer, and checks that the count and the sum start from zero.
	runOnce := func(t *testing.T, opts ...dsl.RunOption) {
		s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
		r := startTopology(t, build(t), s, opts...)
		o := func(id string, amount int64) string {
			v, _ := json.Marshal(Order{ID: id, Customer: "c1", Amount: amount})
			return string(v)
		}
		produceValues(t, s, "orders", "k1", o("a", 1), "k1", o("b", 2), "k1", o("c", 3))
		counts := kafkatest.Consume(t, s, "counts-out", 3, 60*time.Second)
		if got := string(counts[2].Value); got != "3" {
			t.Errorf("count after 3 orders %s, want 3: the table did not start empty", got)
		}
		sums := kafkatest.Consume(t, s, "sums-out", 3, 60*time.Second)
		if got := string(sums[2].Value); got != "6" {
			t.Errorf("sum after 3 orders %s, want 6: the table did not start empty", got)
		}
		if err := r.Stop(); err != nil {
			t.Fatalf("run: %v", err)
		}
	}

	t.Run("default storage", func(t *testing.T) {
		runOnce(t)
		runOnce(t)
	})

	t.Run("leveldb", func(t *testing.T) {
		dir := t.TempDir()
		first := &logcapture.Log{}
		runOnce(t, dsl.WithLevelDB(dir), dsl.WithLogger(first.Logger()))
		if lines := first.Matching("ahead of its topic"); len(lines) > 0 {
			t.Fatalf("the first run logged caches ahead of their topics: %q", lines)
		}
		for _, g := range []string{"twice-counts", "twice-sums"} {
			if _, err := os.Stat(filepath.Join(dir, g)); err != nil {
				t.Errorf("no LevelDB cache of group %s under the directory: %v", g, err)
			}
		}
		second := &logcapture.Log{}
		runOnce(t, dsl.WithLevelDB(dir), dsl.WithLogger(second.Logger()))
		for _, table := range []string{"twice-counts-table", "twice-sums-table"} {
			if len(second.Matching(table+"/")) == 0 {
				t.Errorf("the second run logged no cache of %s ahead of its topic; log:\n%s", table, strings.Join(second.Matching(""), "\n"))
			}
		}
	})
}

// Builders passed with dsl.WithProcessorOptions reach the processors of
// async groups as of sync groups: a later goka option wins over the
// cluster's builders, and is neither ignored nor a conflict.
func TestProcessorOptionBuildersReachAsyncGroups(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	b := dsl.NewBuilder("popts")
	st := dsl.NewStore(b, "last", codec.Int64())
	dsl.ProcessValues(dsl.From(b, "orders", codec.JSON[Order]()), func(c *dsl.ValuesContext[int64], _ string, o Order) error {
		if err := st.Set(c, o.Amount); err != nil {
			return err
		}
		c.Forward(o.Amount)
		return nil
	}, dsl.WithStore(st)).Async(dsl.NewPool("p")).To("amounts", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var storages, producers atomic.Int32
	mem := storage.MemoryBuilder()
	r := startTopology(t, topo, s, dsl.WithProcessorOptions(
		goka.WithStorageBuilder(func(topic string, p int32) (storage.Storage, error) {
			storages.Add(1)
			return mem(topic, p)
		}),
		goka.WithProducerBuilder(func(brokers []string, clientID string, h func() hash.Hash32) (goka.Producer, error) {
			producers.Add(1)
			return s.ProducerBuilder()(brokers, clientID, h)
		}),
	))
	produceValues(t, s, "orders", "k1", orderJSON("a", 7))
	if out := kafkatest.Consume(t, s, "amounts", 1, 60*time.Second); string(out[0].Value) != "7" {
		t.Errorf("amount %q, want 7", out[0].Value)
	}
	if storages.Load() == 0 || producers.Load() == 0 {
		t.Errorf("builders of WithProcessorOptions called: storage %d, producer %d times; want both", storages.Load(), producers.Load())
	}
	if err := r.Stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
