package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
)

func TestEnsureTopics(t *testing.T) {
	c := clustertest.Start(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for range 2 { // the second call finds every topic and changes nothing
		if err := s.EnsureTopics(ctx, "a", "b", "a"); err != nil {
			t.Fatalf("EnsureTopics: %v", err)
		}
	}
	if err := s.EnsureTopics(ctx); err != nil {
		t.Fatalf("EnsureTopics of nothing: %v", err)
	}
	if err := s.EnsureTopics(ctx, "c", ""); !errors.Is(err, kafka.ErrInvalidSettings) {
		t.Fatalf("EnsureTopics with an empty name: %v, want kafka.ErrInvalidSettings", err)
	}

	two := s
	two.Partitions = 2
	var mismatch *kafka.TopicMismatchError
	if err := two.EnsureTopics(ctx, "a"); !errors.As(err, &mismatch) ||
		*mismatch != (kafka.TopicMismatchError{Topic: "a", Partitions: 2, Existing: kafka.DefaultPartitions}) {
		t.Fatalf("EnsureTopics of a topic with other partitions: %v", err)
	}
	if err := two.EnsureTopics(ctx, "d"); err != nil {
		t.Fatalf("EnsureTopics with 2 partitions: %v", err)
	}
	details, err := kadm.NewClient(kafkatest.Client(t, s)).ListTopics(ctx, "a", "b", "d")
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"a": kafka.DefaultPartitions, "b": kafka.DefaultPartitions, "d": 2} {
		if n := len(details[topic].Partitions); n != want {
			t.Errorf("topic %s has %d partitions, want %d", topic, n, want)
		}
	}

	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := s.EnsureTopics(cancelled, "e"); !errors.Is(err, context.Canceled) {
		t.Fatalf("EnsureTopics with a cancelled context: %v", err)
	}
}
