package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/kafka"
)

// topicsTimeout bounds the creation of a test's topics.
const topicsTimeout = 60 * time.Second

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
