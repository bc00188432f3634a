// Package clustertest sets up an embedded Kafka-protocol cluster (package
// broker) for one test: it starts the cluster, closes it when the test
// ends, and creates the test's topics, failing the test if any of that
// fails.
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
)

// topicsTimeout bounds the creation of a test's topics.
const topicsTimeout = 60 * time.Second

// Start starts an embedded cluster with opts (broker.Start) and closes it
// when t ends; it fails t if the cluster does not start.
func Start(t testing.TB, opts ...broker.ClusterOption) *broker.Cluster {
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
func EnsureTopics[T ~string](t testing.TB, s broker.Settings, topics ...T) {
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
