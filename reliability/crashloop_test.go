//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Scenario 6: crash loops. Four workers run on an input that is written
// up front; within about 4 s, four SIGKILLs hit random workers, each
// restarted at once, so that later kills often land on a member that is
// still joining; then every worker is killed and a single new one must
// finish the input. This is issue 11's scenario: before the adapter
// rejoined after transient group errors, the final worker failed with
// "error consuming from group consumer: i/o timeout" in every run, and
// before the embedded broker's sweeper, it waited forever in 3 runs of
// about 60, behind a Stable group that still held killed members.
//
// Per loop the test measures the recovery time, from the last kill to the
// input fully committed, and checks the oracle's invariants. A watchdog
// fails the loop when no committed offset moves for 60 s while input
// remains, after printing the group's members and assignments and the
// goroutines of the final worker (SIGQUIT).
func TestCrashLoop(t *testing.T) {
	loops := size(1, 8)
	spec := inputSpec{keys: size(500, 1000), perKey: size(20, 50), duration: time.Second}
	var recoveries, firstCommits []time.Duration
	rejoins, swept := 0, 0
	for i := range loops {
		t.Run(fmt.Sprintf("loop%d", i+1), func(t *testing.T) {
			l := crashLoop(t, uint64(100+i), spec)
			recoveries = append(recoveries, l.recovery)
			firstCommits = append(firstCommits, l.firstCommit)
			rejoins += l.rejoins
			swept += l.swept
		})
	}
	if len(recoveries) > 0 {
		t.Logf("RESULT crashloop: %d loops of %d records; recovery (last kill → input committed) median %s, min %s, max %s; first commit after the last kill median %s; rejoins after transient group errors %d; dead members removed by the broker's sweeper %d",
			len(recoveries), spec.total(), median(recoveries), slices.Min(recoveries).Round(time.Millisecond),
			slices.Max(recoveries).Round(time.Millisecond), median(firstCommits), rejoins, swept)
	}
}

// loopResult is what one crash loop measured.
type loopResult struct {
	recovery    time.Duration // last kill → input fully committed
	firstCommit time.Duration // last kill → first committed offset that moved
	rejoins     int           // "joining again" lines of the final worker
	swept       int           // members the broker's sweeper removed
}

func crashLoop(t *testing.T, seed uint64, spec inputSpec) loopResult {
	c := setup(t)
	c.produce(t, spec, nil, nil)
	rng := rand.New(rand.NewPCG(seed, seed^0xc4a5))
	ws := make([]*worker, 4)
	for i := range ws {
		ws[i] = c.startWorker(t, string(rune('a'+i)), workerArgs(int(seed)*10+i)...)
	}
	// Let the group form and make some progress, as a deployment would
	// before it starts crashing.
	c.waitProgress(t, group, inputT, 60*time.Second, ws...)

	var kills []string
	for range 4 {
		pause(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
		w := ws[rng.IntN(len(ws))]
		_ = w.stop(syscall.SIGKILL, 10*time.Second)
		w.start()
		kills = append(kills, w.id)
	}
	pause(time.Duration(rng.IntN(1000)) * time.Millisecond)
	for _, w := range ws {
		_ = w.stop(syscall.SIGKILL, 10*time.Second)
	}
	lastKill := time.Now()
	t.Logf("%s: killed %v, then all four; starting one worker", lastKill.Format("15:04:05.000"), kills)

	final := c.startWorker(t, "final", workerArgs(int(seed)*10+9)...)
	firstCommit := c.waitCommittedWatched(t, group, inputT, 5*time.Minute, 60*time.Second, final)
	l := loopResult{
		recovery:    time.Since(lastKill),
		firstCommit: firstCommit.Sub(lastKill),
		rejoins:     strings.Count(final.log(), "joining again"),
		swept:       strings.Count(c.brokerLog.String(), "removed member"),
	}
	r := c.check(t, spec, nil)
	logResult(t, "crashloop", spec, fmt.Sprintf("4 SIGKILLs in about 4 s (%v), then all killed and one worker started", kills), r)
	t.Logf("recovery %s (first commit after %s); the final worker joined again %d times after transient group errors; the broker's sweeper removed %d dead members",
		l.recovery.Round(time.Millisecond), l.firstCommit.Round(time.Millisecond), l.rejoins, l.swept)
	r.assertClean(t)
	return l
}

// pause waits for d: the pace of the kills is part of the scenario, not a
// wait for a condition.
func pause(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	<-timer.C
}

// waitProgress waits until the group has committed any offset of topic,
// failing early if a worker exits on its own. It asks the broker every
// 200 ms.
func (c *cluster) waitProgress(t *testing.T, group, topic string, timeout time.Duration, ws ...*worker) {
	t.Helper()
	await.Every(200*time.Millisecond).Until(t, timeout, "an offset of "+topic+" to be committed", func() bool {
		failIfExited(t, ws...)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		offs, err := c.adm.FetchOffsets(ctx, group)
		cancel()
		moved := false
		if err == nil { // the group does not exist until a worker joined
			offs.Each(func(o kadm.OffsetResponse) { moved = moved || (o.Topic == topic && o.At > 0) })
		}
		return moved
	})
}

// waitCommittedWatched waits until the group's committed offsets of topic
// reach its end offsets, and returns when a committed offset first moved.
// Its watchdog fails the test if no committed offset moves for stall while
// input remains (or timeout passes): it first logs the group's members and
// their assignments and makes every worker of ws dump its goroutines
// (SIGQUIT; the dump goes to the worker's log, which is logged).
func (c *cluster) waitCommittedWatched(t *testing.T, group, topic string, timeout, stall time.Duration, ws ...*worker) time.Time {
	t.Helper()
	ends := c.endOffsets(t, topic)
	start := time.Now()
	deadline := start.Add(timeout)
	lastMove := start
	var first time.Time
	last := c.committed(t, group, topic)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		failIfExited(t, ws...)
		got := c.committed(t, group, topic)
		if !maps.Equal(got, last) {
			last, lastMove = got, time.Now()
			if first.IsZero() {
				first = lastMove
			}
		}
		done := true
		for p, e := range ends {
			if got[p] != e {
				done = false
			}
		}
		if done {
			if first.IsZero() {
				first = time.Now()
			}
			return first
		}
		if time.Since(lastMove) > stall || time.Now().After(deadline) {
			c.describeGroup(t, group)
			for _, w := range ws {
				_ = w.stop(syscall.SIGQUIT, 20*time.Second) // the Go runtime dumps every goroutine and exits
				t.Logf("worker %s log (goroutines at the end):\n%s", w.id, tail(w.log(), 60000))
			}
			t.Logf("broker log:\n%s", tail(c.brokerLog.String(), 8000))
			t.Fatalf("no committed offset of %s moved for %s (%s since the start): committed %v, end offsets %v",
				topic, time.Since(lastMove).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), got, ends)
		}
		<-tick.C
	}
}

// describeGroup logs the group's state, members and their assignments, as
// the broker reports them.
func (c *cluster) describeGroup(t *testing.T, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	described, err := c.adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Logf("describe group %s: %v", group, err)
		return
	}
	for _, g := range described.Sorted() {
		t.Logf("group %s: state %s, protocol %s, %d members (err %v)", g.Group, g.State, g.Protocol, len(g.Members), g.Err)
		for _, m := range g.Members {
			assigned := "?"
			if a, ok := m.Assigned.AsConsumer(); ok {
				var parts []string
				for _, tp := range a.Topics {
					parts = append(parts, fmt.Sprintf("%s%v", tp.Topic, tp.Partitions))
				}
				assigned = strings.Join(parts, " ")
			}
			t.Logf("  member %s (client %s, %s): %s", m.MemberID, m.ClientID, m.ClientHost, assigned)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2].Round(time.Millisecond)
	}
	return ((s[len(s)/2-1] + s[len(s)/2]) / 2).Round(time.Millisecond)
}
