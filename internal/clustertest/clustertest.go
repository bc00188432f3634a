// Package clustertest sets up an embedded Kafka-protocol cluster (package
// broker) for one test and talks to it: it starts the cluster and closes it
// when the test ends, creates the test's topics, and produces and consumes
// records with franz-go clients that partition as goka does. Whatever
// fails, fails the test.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package. The tests of package broker itself cannot use it
// (it imports broker) and keep their own startCluster.
package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicsTimeout bounds the creation of a test's topics.
const topicsTimeout = 60 * time.Second

// Start starts an embedded cluster with opts (broker.Start) and closes it
// when t ends; it fails t if the cluster does not start.
func Start(t testing.TB, opts ...broker.Option) *broker.Cluster {
	t.Helper()
	c, err := broker.Start(opts...)
	if err != nil {
		t.Fatalf("broker.Start: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// EnsureTopics creates topics on the cluster of s, with s's partition
// count, unless they exist (Settings.EnsureTopics); it fails t if that
// fails. The topics may be goka.Stream, goka.Table or string.
func EnsureTopics[T ~string](t testing.TB, s kafka.Settings, topics ...T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), topicsTimeout)
	defer cancel()
	names := make([]string, len(topics))
	for i, topic := range topics {
		names[i] = string(topic)
	}
	if err := s.EnsureTopics(ctx, names...); err != nil {
		t.Fatalf("EnsureTopics %v: %v", names, err)
	}
}

// produceTimeout bounds Produce.
const produceTimeout = 60 * time.Second

// Client returns a franz-go client of the cluster of s with opts after
// s.KgoOptions (so that it partitions as goka does), closed when t ends.
func Client(t testing.TB, s kafka.Settings, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(s.KgoOptions(), opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Produce writes recs with cl, in order, and returns once each is
// acknowledged; it fails t if one is not.
func Produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), produceTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Consume reads topic of the cluster of s from its start, with a client of
// its own, until n records have arrived, and returns them. It fails t if a
// fetch fails or timeout passes first.
func Consume(t testing.TB, s kafka.Settings, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %s before the deadline", len(recs), n, topic)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch %s: %v", topic, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}
