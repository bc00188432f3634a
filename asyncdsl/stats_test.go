package asyncdsl

import (
	"context"
	"testing"

	"github.com/riffle-streams/riffle"
)

// TestStats checks the counters and the per-partition inspection fields
// while a head task blocks its lane.
func TestStats(t *testing.T) {
	e := newExecutor(t, WithWorkers(2))
	rc := newRecorder()
	ctx := context.Background()
	hold := make(chan struct{})
	started := make(chan struct{})
	r0 := rec(3, 10, "hot")
	submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		close(started)
		<-hold
		return nil, nil
	}, ReleaseFunc: rc.release(r0)}})
	for i := int64(11); i < 13; i++ {
		r := rec(3, i, "hot")
		submit(t, e, Task{Record: r, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(r)}})
	}
	other := Record{Coordinates: riffle.Coordinates{Topic: "u", Partition: 3, Offset: 0, Key: "hot"}} // co-partitioned topic, same lane
	submit(t, e, Task{Record: other, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(other)}})
	recv(t, started, "the head to start")

	st := e.Stats()
	if st.Pending != 4 || st.Running != 1 || st.Queued != 3 {
		t.Errorf("Stats %+v, want 4 pending, 1 running, 3 queued", st)
	}
	if len(st.Partitions) != 2 {
		t.Fatalf("Partitions %+v, want t/3 and u/3", st.Partitions)
	}
	p := st.Partitions[0]
	if p.Topic != "t" || p.Partition != 3 || p.Pending != 3 || p.HeadOffset != 10 || p.HeadKey != "hot" ||
		p.HeadAttempts != 1 || p.LongestKeyQueue != 4 || p.LastError != "" || p.HeadAge <= 0 {
		t.Errorf("t/3 stats %+v", p)
	}
	if u := st.Partitions[1]; u.Topic != "u" || u.HeadOffset != 0 || u.HeadAttempts != 0 || u.LongestKeyQueue != 4 {
		t.Errorf("u/3 stats %+v", u)
	}
	if p.Queued != 2 || p.Running != 1 || p.HeldBack != 0 || p.TailOffset != 12 {
		t.Errorf("t/3 queued %d, running %d, held back %d, tail %d; want 2, 1, 0, 12", p.Queued, p.Running, p.HeldBack, p.TailOffset)
	}
	want := KeyStats{Key: "hot", Unreleased: 4, HeadTopic: "t", HeadOffset: 10, HeadState: "running", HeadAttempts: 1}
	if len(p.BlockedKeys) != 1 {
		t.Fatalf("t/3 blocked keys %+v, want one", p.BlockedKeys)
	}
	if got := p.BlockedKeys[0]; got.HeadAge <= 0 {
		t.Errorf("blocked key head age %s", got.HeadAge)
	} else if got.HeadAge = 0; got != want {
		t.Errorf("blocked key %+v, want %+v", got, want)
	}
	if n := len(e.StatsTopKeys(0).Partitions[0].BlockedKeys); n != 0 {
		t.Errorf("StatsTopKeys(0) listed %d blocked keys", n)
	}
	close(hold)
	drain(t, e)
	if st := e.Stats(); st.Pending != 0 || st.Running != 0 || st.Queued != 0 {
		t.Errorf("Stats after Drain %+v", st)
	}
}

// TestInterleavedAssignments: tasks of two Ctx of one (topic, partition)
// keep one watermark per Ctx, even if submissions alternate.
func TestInterleavedAssignments(t *testing.T) {
	e := newExecutor(t)
	rc := newRecorder()
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	hold := make(chan struct{})
	a0 := rec(0, 0, "a")
	submit(t, e, Task{Record: a0, Ctx: ctxA, Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) {
		<-hold
		return nil, nil
	}, ReleaseFunc: rc.release(a0)}})
	b0 := rec(0, 100, "b")
	submit(t, e, Task{Record: b0, Ctx: ctxB, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(b0)}})
	a1 := rec(0, 1, "c")
	submit(t, e, Task{Record: a1, Ctx: ctxA, Work: &WorkFuncs{AttemptFunc: ok, ReleaseFunc: rc.release(a1)}})
	if got := rc.waitN(t, 1)[0]; got.Record != b0 {
		t.Fatalf("first release %+v, want the other assignment's task", got)
	}
	close(hold)
	if s := statuses(rc.waitN(t, 3)[1:]); s != "0:done 1:done" {
		t.Fatalf("assignment A releases %q", s)
	}
	if n := len(e.Stats().Partitions); n != 2 {
		t.Errorf("%d assignments in Stats, want 2", n)
	}
}
