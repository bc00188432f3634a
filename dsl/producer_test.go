package dsl_test

import (
	"context"
	"strings"
	"testing"

	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	"github.com/riffle-streams/riffle/kafka"
)

// An unknown producer choice is an error before anything connects.
func TestWithProducerRejectsUnknown(t *testing.T) {
	b := dsl.NewBuilder("producer-choice")
	dsl.From(b, "in", codec.String()).To("out", codec.String())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := kafka.Settings{Brokers: []string{"127.0.0.1:1"}, Partitions: 1, ReplicationFactor: 1}
	_, err = topo.Start(context.Background(), dsl.OnCluster(s), dsl.WithProducer(dsl.Producer(7)))
	if err == nil || !strings.Contains(err.Error(), "WithProducer(7)") {
		t.Fatalf("Start: %v, want an error naming WithProducer(7)", err)
	}
}
