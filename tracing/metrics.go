package tracing

import (
	"context"
	"strconv"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names. docs/tracing.md explains each.
const (
	MetricCallDuration    = "riffle.call.duration"
	MetricRecordDuration  = "riffle.record.duration"
	MetricRetries         = "riffle.record.retries"
	MetricDeadLetters     = "riffle.record.dead_letters"
	MetricSkipped         = "riffle.record.skipped"
	MetricReleased        = "riffle.record.released"
	MetricMispartitioned  = "riffle.record.mispartitioned"
	MetricInFlight        = "riffle.records.in_flight"
	MetricRunning         = "riffle.records.running"
	MetricQueued          = "riffle.partition.queued"
	MetricHeldBack        = "riffle.partition.held_back"
	MetricCommitLag       = "riffle.partition.commit_lag"
	MetricLongestKeyQueue = "riffle.partition.longest_key_queue"
	MetricHeadAge         = "riffle.partition.head_age"
	MetricStuck           = "riffle.calls.stuck"
	MetricDetached        = "riffle.calls.detached"
	MetricDiscarded       = "riffle.calls.discarded"
)

// durationBuckets suit remote calls and records of a millisecond to a
// minute, in seconds.
var durationBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// instruments are the synchronous instruments of a Tracing, and the
// observable gauges that ObserveExecutor feeds.
type instruments struct {
	meter          metric.Meter
	callDuration   metric.Float64Histogram
	recordDuration metric.Float64Histogram
	retries        metric.Int64Counter
	deadLetters    metric.Int64Counter
	skipped        metric.Int64Counter
	released       metric.Int64Counter
	mispartitioned metric.Int64Counter

	inFlight, running                            metric.Int64ObservableGauge
	queued, heldBack, commitLag, longestKeyQueue metric.Int64ObservableGauge
	headAge                                      metric.Float64ObservableGauge
	stuck                                        metric.Int64ObservableGauge
	detached, discarded                          metric.Int64ObservableCounter
}

func newInstruments(m metric.Meter) (*instruments, error) {
	in := &instruments{meter: m}
	var err error
	// Creation errors are collected in order; the first is returned.
	first := func(e error) {
		if err == nil {
			err = e
		}
	}
	var e error
	in.callDuration, e = m.Float64Histogram(MetricCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of remote calls made with tracing.Call, per attempt."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	first(e)
	in.recordDuration, e = m.Float64Histogram(MetricRecordDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from a record's dispatch to the release of its offset."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	first(e)
	in.retries, e = m.Int64Counter(MetricRetries, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts after the first (retries) of async records."))
	first(e)
	in.deadLetters, e = m.Int64Counter(MetricDeadLetters, metric.WithUnit("{record}"),
		metric.WithDescription("Records written to the dead-letter topic."))
	first(e)
	in.skipped, e = m.Int64Counter(MetricSkipped, metric.WithUnit("{record}"),
		metric.WithDescription("Records dropped by the skip policy, and records whose dead letter was refused even without its value."))
	first(e)
	in.released, e = m.Int64Counter(MetricReleased, metric.WithUnit("{record}"),
		metric.WithDescription("Records whose offsets were released to the commit, by outcome."))
	first(e)
	in.mispartitioned, e = m.Int64Counter(MetricMispartitioned, metric.WithUnit("{record}"),
		metric.WithDescription("Input records whose key the processor's hasher puts in another partition than the one they came from."))
	first(e)
	in.inFlight, e = m.Int64ObservableGauge(MetricInFlight, metric.WithUnit("{record}"),
		metric.WithDescription("Records accepted by the executor and not yet released (queued, running or held back)."))
	first(e)
	in.running, e = m.Int64ObservableGauge(MetricRunning, metric.WithUnit("{record}"),
		metric.WithDescription("Records whose attempts or writes are in progress on workers."))
	first(e)
	in.queued, e = m.Int64ObservableGauge(MetricQueued, metric.WithUnit("{record}"),
		metric.WithDescription("Records of a partition waiting for their key or for a worker."))
	first(e)
	in.heldBack, e = m.Int64ObservableGauge(MetricHeldBack, metric.WithUnit("{record}"),
		metric.WithDescription("Finished records of a partition waiting for an earlier offset before their release."))
	first(e)
	in.commitLag, e = m.Int64ObservableGauge(MetricCommitLag, metric.WithUnit("{offset}"),
		metric.WithDescription("Offsets of a partition held back from the commit by the watermark: last submitted minus the offset the watermark waits on, plus one."))
	first(e)
	in.longestKeyQueue, e = m.Int64ObservableGauge(MetricLongestKeyQueue, metric.WithUnit("{record}"),
		metric.WithDescription("Most unreleased records of one key in a partition."))
	first(e)
	in.headAge, e = m.Float64ObservableGauge(MetricHeadAge, metric.WithUnit("s"),
		metric.WithDescription("Age of the record the partition's watermark waits on (0 if none): how long the commit has been stuck."))
	first(e)
	in.stuck, e = m.Int64ObservableGauge(MetricStuck, metric.WithUnit("{goroutine}"),
		metric.WithDescription("Goroutines the executor gave up on while they ran user code that ignored its context, and that have not returned yet."))
	first(e)
	in.detached, e = m.Int64ObservableCounter(MetricDetached, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts given up on because they did not return by their call timeout or the drain deadline."))
	first(e)
	in.discarded, e = m.Int64ObservableCounter(MetricDiscarded, metric.WithUnit("{attempt}"),
		metric.WithDescription("Results of given-up attempts that returned later and were discarded unapplied."))
	first(e)
	return in, err
}

func (in *instruments) recordCall(name, errType string, d time.Duration) {
	attrs := []attribute.KeyValue{KeyCallName.String(name)}
	if errType != "" {
		attrs = append(attrs, keyErrorType.String(errType))
	}
	in.callDuration.Record(context.Background(), d.Seconds(), metric.WithAttributes(attrs...))
}

func (in *instruments) recordRetry(topic string) {
	in.retries.Add(context.Background(), 1, metric.WithAttributes(keyDestinationName.String(topic)))
}

func (in *instruments) recordDeadLetter(topic, reason string, reduced bool) {
	in.deadLetters.Add(context.Background(), 1, metric.WithAttributes(keyDestinationName.String(topic),
		KeyReason.String(reason), KeyReduced.Bool(reduced)))
}

func (in *instruments) recordSkipped(topic, reason, errType string) {
	in.skipped.Add(context.Background(), 1, metric.WithAttributes(keyDestinationName.String(topic),
		KeyReason.String(reason), keyErrorType.String(errType)))
}

func (in *instruments) recordReleased(topic, group string, s asyncdsl.Status, d time.Duration) {
	opt := metric.WithAttributes(keyDestinationName.String(topic), keyConsumerGroup.String(group), KeyOutcome.String(s.String()))
	in.released.Add(context.Background(), 1, opt)
	in.recordDuration.Record(context.Background(), d.Seconds(), opt)
}

// CountMispartitioned counts an input record of (topic, partition) of group
// whose key belongs to another partition (MetricMispartitioned). The goka
// adapter calls it; t may be nil (tracing off), then it does nothing.
func (t *Tracing) CountMispartitioned(group, topic string, partition int32) {
	if t == nil {
		return
	}
	t.metrics.mispartitioned.Add(context.Background(), 1, metric.WithAttributes(keyConsumerGroup.String(group),
		keyDestinationName.String(topic), keyPartitionID.String(strconv.Itoa(int(partition)))))
}

// StatsSource is what ObserveExecutor, Inspect and Handler read: an
// *asyncdsl.Executor.
type StatsSource interface {
	StatsTopKeys(topKeys int) asyncdsl.Stats
}

// ObserveExecutor feeds the executor's gauges (MetricInFlight,
// MetricRunning, MetricStuck, the counters MetricDetached and
// MetricDiscarded, and the per-partition MetricQueued, MetricHeldBack,
// MetricCommitLag, MetricLongestKeyQueue, MetricHeadAge) from its Stats at
// every metric collection, with messaging.consumer.group.name set to group.
// Call Unregister on the result when the executor is closed (the goka
// adapter does both).
func (t *Tracing) ObserveExecutor(e StatsSource, group string) (metric.Registration, error) {
	in := t.metrics
	groupAttr := keyConsumerGroup.String(group)
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := e.StatsTopKeys(0)
		all := metric.WithAttributes(groupAttr)
		o.ObserveInt64(in.inFlight, int64(s.Pending), all)
		o.ObserveInt64(in.running, int64(s.Running), all)
		o.ObserveInt64(in.stuck, int64(s.Stuck), all)
		o.ObserveInt64(in.detached, s.Detached, all)
		o.ObserveInt64(in.discarded, s.Discarded, all)
		for _, p := range mergePartitions(s.Partitions) {
			opt := metric.WithAttributes(groupAttr, keyDestinationName.String(p.Topic),
				keyPartitionID.String(strconv.Itoa(int(p.Partition))))
			o.ObserveInt64(in.queued, int64(p.Queued), opt)
			o.ObserveInt64(in.heldBack, int64(p.HeldBack), opt)
			o.ObserveInt64(in.commitLag, commitLag(p), opt)
			o.ObserveInt64(in.longestKeyQueue, int64(p.LongestKeyQueue), opt)
			o.ObserveFloat64(in.headAge, p.HeadAge.Seconds(), opt)
		}
		return nil
	}, in.inFlight, in.running, in.stuck, in.detached, in.discarded,
		in.queued, in.heldBack, in.commitLag, in.longestKeyQueue, in.headAge)
}

// commitLag is how many offsets the watermark of p holds back.
func commitLag(p asyncdsl.PartitionStats) int64 {
	if p.HeadOffset < 0 || p.TailOffset < p.HeadOffset {
		return 0
	}
	return p.TailOffset - p.HeadOffset + 1
}

// mergePartitions folds the assignments of one (topic, partition) (an old
// one draining, a new one running) into one entry, so that each gauge gets
// one observation per attribute set: counts add up, the head is the oldest.
func mergePartitions(ps []asyncdsl.PartitionStats) []asyncdsl.PartitionStats {
	out := ps[:0:0]
	for _, p := range ps {
		n := len(out)
		if n == 0 || out[n-1].Topic != p.Topic || out[n-1].Partition != p.Partition {
			out = append(out, p)
			continue
		}
		m := &out[n-1] // Stats sorts assignments oldest first
		m.Pending += p.Pending
		m.Queued += p.Queued
		m.Running += p.Running
		m.HeldBack += p.HeldBack
		if m.HeadOffset < 0 {
			m.HeadOffset, m.HeadAge = p.HeadOffset, p.HeadAge
		}
		m.TailOffset = max(m.TailOffset, p.TailOffset)
	}
	return out
}
