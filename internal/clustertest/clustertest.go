// Package clustertest starts an embedded Kafka-protocol cluster (package
// broker) for one test and closes it when the test ends; whatever fails,
// fails the test. To create topics on it, produce, consume and run goka
// processors, tests use internal/kafkatest with the cluster's Settings.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package. The tests of package broker itself cannot use it
// (it imports broker) and keep their own startCluster.
package clustertest

import (
	"testing"

	"github.com/riffle-streams/riffle/broker"
)

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
