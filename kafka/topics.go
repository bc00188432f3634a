package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicPollInterval is how often EnsureTopics looks whether created topics
// have shown up in the cluster's metadata.
const topicPollInterval = 20 * time.Millisecond

// EnsureTopics creates the topics that do not exist yet, with s.Partitions
// partitions and s.ReplicationFactor replicas, and returns once every one of
// them is in the cluster's metadata with all its partitions led. A topic that
// exists already is left as it is, so EnsureTopics can be called again with
// the same topics; if its partition count is not s.Partitions, EnsureTopics
// returns a *TopicMismatchError for it (goka needs co-partitioned inputs).
// Invalid settings and empty topic names are reported together, as Validate
// does, before any connection is opened.
//
// It opens a client of its own for the call, with s's TLS and SASL
// settings; credentials the cluster refuses give an error wrapping
// ErrAuthenticationFailed. ctx bounds the whole call; on a
// real cluster a new topic takes a moment to reach every broker's metadata.
func (s Settings) EnsureTopics(ctx context.Context, topics ...string) error {
	problems := s.problems()
	if slices.Contains(topics, "") {
		problems = append(problems, "empty topic name")
	}
	if err := invalid(problems); err != nil {
		return err
	}
	topics = slices.Compact(slices.Sorted(slices.Values(topics)))
	if len(topics) == 0 {
		return nil
	}

	opts, guard := s.kgoOptions()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: ensure topics: %w", err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()

	created, err := adm.CreateTopics(ctx, int32(s.Partitions), int16(s.ReplicationFactor), nil, topics...)
	if err != nil {
		return fmt.Errorf("kafka: create topics %q: %w", topics, authError(err, guard))
	}
	for _, t := range topics {
		r, ok := created[t]
		switch {
		case !ok:
			return fmt.Errorf("kafka: create topic %q: not in the response", t)
		case r.Err == nil, errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			return fmt.Errorf("kafka: create topic %q: %w", t, r.Err)
		}
	}
	return s.awaitTopics(ctx, adm, topics)
}

// awaitTopics polls the metadata of topics until every one has all its
// partitions led, and checks their partition counts.
func (s Settings) awaitTopics(ctx context.Context, adm *kadm.Client, topics []string) error {
	tick := time.NewTicker(topicPollInterval)
	defer tick.Stop()
	for {
		details, err := adm.ListTopics(ctx, topics...)
		if err != nil {
			return fmt.Errorf("kafka: list topics %q: %w", topics, err)
		}
		ready := true
		for _, t := range topics {
			d, ok := details[t]
			if ok && d.Err != nil && !kerr.IsRetriable(d.Err) {
				return fmt.Errorf("kafka: describe topic %q: %w", t, d.Err)
			}
			if !ok || d.Err != nil || len(d.Partitions) == 0 || !allLed(d.Partitions) {
				ready = false
				continue
			}
			if n := len(d.Partitions); n != s.Partitions {
				return &TopicMismatchError{Topic: t, Partitions: s.Partitions, Existing: n}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: wait for topics %q: %w", topics, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

func allLed(ps kadm.PartitionDetails) bool {
	for _, p := range ps {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}
