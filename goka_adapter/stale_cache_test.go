package gokaadapter_test

import (
	"fmt"
	"os"
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
)

// A group run against one cluster, then against a new one, with goka's
// default storage (LevelDB under goka.DefaultProcessorStoragePath(group)):
// the second run finds local caches that are ahead of the new cluster's
// (empty) table topic. goka alone stops there ("kafka tells us there's no
// message in the topic, but our cache has one"); the adapter empties those
// caches, says so in goka's log, and the group starts from the new table.
func TestCacheAheadOfTopicIsRebuilt(t *testing.T) {
	group := goka.Group(fmt.Sprintf("stalecache-%d", time.Now().UnixNano()))
	dir := goka.DefaultProcessorStoragePath(group)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	input, output := goka.Stream(string(group)+"-in"), goka.Stream(string(group)+"-out")
	const keys, perKey = 8, 3

	// runOn runs the group on a new cluster until it has processed perKey
	// records of each key, and returns the state counts it emitted.
	runOn := func(t *testing.T, log *logcapture.Log) []seqMsg {
		c := clustertest.Start(t, broker.WithPartitions(4))
		defer c.Close()
		s := c.Settings()
		kafkatest.EnsureTopics(t, s, input, output)
		a, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithWorkers(8)))
		if err != nil {
			t.Fatal(err)
		}
		g := seqGraph(a, group, input, output, func(ctx goka.Context, msg any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit(output, ctx.Key(), seqMsg{Key: ctx.Key(), Seq: int(n + 1)})
		})
		// The cluster's builders as goka options, goka's default storage.
		proc, err := a.NewProcessor(s.Brokers, g, append(s.ProcessorOptions(), goka.WithLogger(log))...)
		if err != nil {
			_ = a.Close()
			t.Fatal(err)
		}
		r := run(t, proc)
		produceSequences(t, kafkatest.Client(t, s), string(input), keys, perKey)
		out := decodeSeqs(t, kafkatest.Consume(t, s, string(output), keys*perKey, 30*time.Second))
		if err := r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
		return out
	}

	first := &logcapture.Log{}
	runOn(t, first)
	if lines := first.Matching("ahead of its topic"); len(lines) > 0 {
		t.Fatalf("first run, on new caches, logged a cache ahead of its topic: %q", lines)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the first run left no cache under goka's default path: %v", err)
	}

	second := &logcapture.Log{}
	out := runOn(t, second)
	// The state starts over: the counts are those of the second cluster's
	// records only.
	checkNoSkips(t, out)
	for _, m := range out {
		if m.Seq > perKey {
			t.Fatalf("key %s counted %d records on a cluster that had %d: the stale cache was used", m.Key, m.Seq, perKey)
		}
	}
	lines := second.Matching("ahead of its topic")
	if len(lines) == 0 {
		t.Fatal("the second run logged no cache ahead of its topic")
	}
	if !strings.Contains(lines[0], string(goka.GroupTable(group))+"/") || !strings.Contains(lines[0], "rebuilding the cache from the topic") {
		t.Errorf("the log line does not name the table partition and what is done: %q", lines[0])
	}
}
