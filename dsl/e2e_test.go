package dsl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The Example's pipeline, plus a join, runs end to end on the embedded
// broker: three goka groups (async enrichment, count behind a repartition
// topic, join with the count table), topics created by Run, a clean stop on
// cancel.
func TestEndToEndOnEmbeddedBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded broker")
	}
	cluster := clustertest.Start(t, broker.WithPartitions(4))
	s := cluster.Settings()

	b := dsl.NewBuilder("e2e")
	remote := dsl.NewPool("remote", asyncdsl.WithWorkers(16))
	purchases := dsl.From(b, "purchases", codec.JSON[Purchase]())
	enriched := dsl.ProcessValues(purchases, func(c *dsl.ValuesContext[Enriched], _ string, p Purchase) error {
		region, err := customerRegion(c.Context(), p.Customer)
		if err != nil {
			return err
		}
		c.Forward(Enriched{Purchase: p, Region: region})
		return nil
	}).Async(remote).WithCodec(codec.JSON[Enriched]())
	byCustomer := enriched.SelectKey(func(_ string, e Enriched) string { return e.Customer })
	counts := byCustomer.GroupByKey().Count("counts")
	counts.ToStream().To("counts-out", codec.Int64())
	dsl.Join(dsl.From(b, "visits", codec.String()), counts, func(k, page string, n int64) string {
		return fmt.Sprintf("%s:%d", page, n)
	}).To("visits-out", codec.String())

	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(topo.Groups()); n != 3 {
		t.Fatalf("%d groups, want 3:\n%s", n, topo.Describe())
	}
	const customers, perCustomer = 8, 5
	// The visits group joins with its own replica of the count table, which
	// goka fills from the table topic in the background
	// (PartitionTable.CatchupForever), with no ordering against the visits
	// topic. Seeing the final counts on counts-out says nothing about when
	// that replica has them, and the inner Join drops a visit whose key the
	// replica does not hold yet. The update callback, through which goka
	// applies each table record to a replica, says when c3's final count is
	// in. (The counts group writes its own table with SetValue; it calls the
	// callback only to recover the table at a session setup, which with its
	// single member happens at the start, on an empty table.)
	countsTable := string(goka.GroupTable("e2e-counts"))
	joinReady := make(chan struct{})
	var joinReadyOnce sync.Once
	onUpdate := goka.WithUpdateCallback(func(uc goka.UpdateContext, st storage.Storage, key string, value []byte) error {
		if err := goka.DefaultUpdate(uc, st, key, value); err != nil {
			return err
		}
		if string(uc.Topic()) == countsTable && key == "c3" && string(value) == strconv.Itoa(perCustomer) {
			joinReadyOnce.Do(func() { close(joinReady) })
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := topo.Start(ctx, dsl.OnCluster(s), dsl.WithStorage(storage.MemoryBuilder()),
		dsl.WithProcessorOptions(onUpdate))
	if err != nil {
		t.Fatal(err)
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := run.WaitReady(readyCtx); err != nil {
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(append(s.KgoOptions(),
		kgo.ConsumeTopics("counts-out", "visits-out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := 0; i < customers*perCustomer; i++ {
		p := Purchase{ID: "p" + strconv.Itoa(i), Customer: "c" + strconv.Itoa(i%customers)}
		v, _ := json.Marshal(p)
		recs = append(recs, &kgo.Record{Topic: "purchases", Key: []byte(p.ID), Value: v})
	}
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Per customer, counts arrive in order 1..perCustomer.
	last := map[string]int64{}
	done := func() bool {
		for c := 0; c < customers; c++ {
			if last["c"+strconv.Itoa(c)] != perCustomer {
				return false
			}
		}
		return true
	}
	deadline, dcancel := context.WithTimeout(ctx, 60*time.Second)
	defer dcancel()
	visitSent := false
	var visit string
	for !done() || visit == "" {
		fs := cl.PollFetches(deadline)
		if deadline.Err() != nil {
			t.Fatalf("timed out: counts %v, visit %q", last, visit)
		}
		fs.EachError(func(topic string, _ int32, err error) { t.Fatalf("fetch %s: %v", topic, err) })
		for _, r := range fs.Records() {
			switch r.Topic {
			case "counts-out":
				n, err := strconv.ParseInt(string(r.Value), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				if n != last[string(r.Key)]+1 {
					t.Fatalf("customer %s: count %d after %d", r.Key, n, last[string(r.Key)])
				}
				last[string(r.Key)] = n
			case "visits-out":
				visit = string(r.Value)
			}
		}
		if done() && !visitSent {
			// The count table is complete, and so is the visits group's
			// replica of it once joinReady is closed: a visit of c3 joins
			// with 5.
			select {
			case <-joinReady:
			case <-deadline.Done():
				t.Fatalf("timed out: the visits group's count table never got c3=%d", perCustomer)
			}
			visitSent = true
			if err := cl.ProduceSync(pctx, &kgo.Record{Topic: "visits", Key: []byte("c3"), Value: []byte("home")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := fmt.Sprintf("home:%d", perCustomer); visit != want {
		t.Fatalf("joined visit %q, want %q", visit, want)
	}
	cancel()
	if err := run.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// A topology's groups, sync and async, join their groups again after a
// JoinGroup the broker holds past the read timeout (the first one of each
// group is never answered here), instead of stopping the run with "error
// consuming from group consumer: i/o timeout".
func TestRunRejoinsAfterJoinTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded broker")
	}
	cluster := clustertest.Start(t, broker.WithPartitions(2))
	s := cluster.Settings()
	s.Sarama.Net.ReadTimeout = 2 * time.Second

	var mu sync.Mutex
	joins := map[string]int{}
	fake := cluster.Kfake()
	fake.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		g := req.(*kmsg.JoinGroupRequest).Group
		joins[g]++
		return nil, nil, joins[g] == 1 // the first JoinGroup of each group: no answer
	})

	b := dsl.NewBuilder("rj")
	upper := dsl.ProcessValues(dsl.From(b, "rj-in", codec.String()), func(c *dsl.ValuesContext[string], _ string, v string) error {
		c.Forward(strings.ToUpper(v))
		return nil
	}).Async(dsl.NewPool("rj", asyncdsl.WithWorkers(4))).WithCodec(codec.String())
	// Counting by the new key needs a repartition topic: a second, sync,
	// group.
	upper.SelectKey(func(_ string, v string) string { return v }).GroupByKey().Count("n").ToStream().To("rj-out", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(topo.Groups()); n != 2 {
		t.Fatalf("%d groups, want an async one and a sync one:\n%s", n, topo.Describe())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := topo.Start(ctx, dsl.OnCluster(s), dsl.WithStorage(storage.MemoryBuilder()))
	if err != nil {
		t.Fatal(err)
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := run.WaitReady(readyCtx); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ConsumeTopics("rj-out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(readyCtx, &kgo.Record{Topic: "rj-in", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		fs := cl.PollFetches(readyCtx)
		if readyCtx.Err() != nil {
			t.Fatalf("no output; run: %v", run.Stop())
		}
		fs.EachRecord(func(r *kgo.Record) { got = string(r.Key) == "V" })
	}
	mu.Lock()
	for g, n := range joins {
		if n < 2 {
			t.Errorf("group %s joined %d times, want a rejoin", g, n)
		}
	}
	mu.Unlock()
	if err := run.Stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
