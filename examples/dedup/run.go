package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// commitPoll is how often a run looks at the group's committed offsets once
// the callback has seen every event. goka commits every
// Consumer.Offsets.AutoCommit.Interval (100 ms with package kafka's
// settings).
const commitPoll = 5 * time.Millisecond

// result is what one run measured.
type result struct {
	records int
	elapsed time.Duration
	rps     float64
}

// runOne runs the app once in mode m on the cluster of s: it produces the
// events, runs the processor until the offset of every event is committed
// (a record's offset is committed only once its output is written), stops
// it, reads the output back and prints the progress, the result and the
// verdict.
func runOne(ctx context.Context, o options, s kafka.Settings, m mode, w io.Writer) (result, dedup.Verdict, error) {
	records := o.records
	if m == plainGoka {
		records = o.syncRecords
	}
	events := dedup.NewEvents(records, o.dupRate, dedup.DefaultRecentIDs, o.seed)
	fmt.Fprintf(w, "\n%s: %s events, %s unique ids, %s duplicates\n", m,
		thousands(float64(events.Len())), thousands(float64(events.Unique())), thousands(float64(events.Duplicates())))

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	// Topics and group of the run's own, deleted afterwards, so that runs
	// on one cluster neither interfere nor pile up.
	base := fmt.Sprintf("dedup-%s-%08x", m.short(), rand.Uint32())
	t := topics{group: goka.Group(base), input: goka.Stream(base + "-in"), output: goka.Stream(base + "-out")}
	if err := s.EnsureTopics(ctx, string(t.input), string(t.output)); err != nil {
		return result{}, dedup.Verdict{}, err
	}
	cl, err := kgo.NewClient(s.KgoOptions()...) // partitions as goka does
	if err != nil {
		return result{}, dedup.Verdict{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteGroups(ctx, string(t.group))
		_, _ = adm.DeleteTopics(ctx, string(t.input), string(t.output))
	}()
	ends, err := produce(ctx, cl, adm, string(t.input), events)
	if err != nil {
		return result{}, dedup.Verdict{}, err
	}

	win, closeWindow, err := dedup.OpenWindow(ctx, dedup.WindowConfig{
		Window: o.window, Latency: o.latency, Jitter: o.jitter, Seed: o.seed,
		Redis: o.redis, KeyPrefix: "riffle-dedup:" + base + ":", PoolSize: o.workers,
	})
	if err != nil {
		return result{}, dedup.Verdict{}, err
	}
	defer func() { _ = closeWindow() }()
	counts := new(dedup.Counts)
	proc, err := newProcessor(s, m, o.workers, t, dedup.Callback(win, t.output, counts))
	if err != nil {
		return result{}, dedup.Verdict{}, err
	}

	// The clock starts when the processor's Run is called: joining the
	// group and starting the partitions count.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- proc.Run(runCtx) }()
	p := &progress{w: w, counts: counts, total: records}
	elapsed, err := waitCommitted(ctx, o.progress, p, start, runErr, func(ctx context.Context) (bool, error) {
		return committed(ctx, adm, string(t.group), string(t.input), ends)
	})
	stop()
	if err != nil {
		if !errors.Is(err, errStopped) {
			<-runErr
		}
		return result{}, dedup.Verdict{}, fmt.Errorf("%s: %w", m, err)
	}
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return result{}, dedup.Verdict{}, fmt.Errorf("%s: processor: %w", m, err)
	}

	v, err := dedup.Verify(ctx, s, string(t.output), events)
	if err != nil {
		return result{}, dedup.Verdict{}, err
	}
	res := result{records: records, elapsed: elapsed, rps: float64(records) / elapsed.Seconds()}
	fmt.Fprintf(w, "  done: %s events in %.2f s = %s events/s\n", thousands(float64(res.records)), res.elapsed.Seconds(), thousands(res.rps))
	fmt.Fprintf(w, "  verdict: %s\n", v)
	return res, v, nil
}

// errStopped is the error of a processor that stopped during a run; its
// own error is joined to it.
var errStopped = errors.New("the processor stopped during the run")

// waitCommitted waits until the callback has seen every event of the run
// (p.total) and committed reports their offsets committed, and returns the
// time since start. Every interval (0: never) it prints a progress line. It
// returns an error when ctx ends or the processor stops (runErr).
func waitCommitted(ctx context.Context, interval time.Duration, p *progress, start time.Time,
	runErr <-chan error, committed func(context.Context) (bool, error)) (time.Duration, error) {
	counts, records := p.counts, int64(p.total)
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	poll := time.NewTicker(commitPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d events after %s: %w",
				counts.Emitted()+counts.Dropped(), records, time.Since(start).Round(time.Millisecond), ctx.Err())
		case err := <-runErr:
			return 0, errors.Join(errStopped, err)
		case now := <-tick:
			p.print(now.Sub(start))
		case <-poll.C:
			if counts.Emitted()+counts.Dropped() < records {
				continue
			}
			ok, err := committed(ctx)
			if err != nil {
				return 0, err
			}
			if ok {
				elapsed := time.Since(start)
				if interval > 0 && p.last < records {
					p.print(elapsed) // the final count, unless a tick showed it
				}
				return elapsed, nil
			}
		}
	}
}

// produce writes the events to topic, event i with its id as key and
// value, and returns the end offset of every partition.
func produce(ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic string, events *dedup.Events) (map[int32]int64, error) {
	const batch = 10_000
	recs := make([]*kgo.Record, 0, min(events.Len(), batch))
	for i := range events.Len() {
		id := []byte(events.ID(i))
		recs = append(recs, &kgo.Record{Topic: topic, Key: id, Value: id})
		if len(recs) == cap(recs) || i == events.Len()-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return nil, fmt.Errorf("produce to %s: %w", topic, err)
			}
			recs = recs[:0]
		}
	}
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends, nil
}

// committed reports whether group's committed offsets of topic reach ends
// in every partition.
func committed(ctx context.Context, adm *kadm.Client, group, topic string, ends map[int32]int64) (bool, error) {
	offs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return false, fmt.Errorf("committed offsets of %s: %w", group, err)
	}
	for p, end := range ends {
		if o, ok := offs.Lookup(topic, p); end > 0 && (!ok || o.At < end) {
			return false, nil
		}
	}
	return true, nil
}

// progress prints the progress lines of one run: events processed (emitted
// or dropped by the callback), their rate, callbacks in flight and
// duplicates dropped.
type progress struct {
	w      io.Writer
	counts *dedup.Counts
	total  int

	last     int64
	lastTime time.Duration
}

func (p *progress) print(elapsed time.Duration) {
	const width = 20
	done := min(p.counts.Emitted()+p.counts.Dropped(), int64(p.total))
	var rate float64
	if dt := (elapsed - p.lastTime).Seconds(); dt > 0 {
		rate = float64(done-p.last) / dt
	}
	p.last, p.lastTime = done, elapsed
	filled := int(int64(width) * done / int64(max(1, p.total)))
	fmt.Fprintf(p.w, "  %5.1f s [%s%s] %7s/%s events %8s events/s  in flight %3d  duplicates dropped %6s\n",
		elapsed.Seconds(), strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		thousands(float64(done)), thousands(float64(p.total)), thousands(rate), p.counts.Running(), thousands(float64(p.counts.Dropped())))
}
