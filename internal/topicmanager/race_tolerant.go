package topicmanager

import (
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Bounds of the re-ensure after a concurrent create. On a real cluster the
// topic another processor created may take a moment to appear in the
// metadata of the broker that goka asks; until it does, goka's next ensure
// tries to create it again and gets the same answer.
const (
	// ConcurrentCreateWait is how long an ensure keeps trying after Kafka
	// answered that the topic exists already.
	ConcurrentCreateWait = 30 * time.Second
	firstRetryDelay      = 20 * time.Millisecond
	maxRetryDelay        = time.Second
)

// RaceTolerant returns a builder whose topic managers retry an ensure
// (EnsureTableExists, EnsureStreamExists, EnsureTopicExists) that failed
// because another client created the topic between goka's check and its
// create. Every other error, and every other method, is the wrapped
// manager's own. A nil builder stays nil, and a builder that RaceTolerant
// made already is not wrapped twice.
func RaceTolerant(b goka.TopicManagerBuilder) goka.TopicManagerBuilder {
	if b == nil {
		return nil
	}
	return func(brokers []string) (goka.TopicManager, error) {
		tm, err := b(brokers)
		if err != nil || tm == nil {
			return tm, err
		}
		if _, wrapped := tm.(raceTolerant); wrapped {
			return tm, nil
		}
		return raceTolerant{TopicManager: tm, wait: ConcurrentCreateWait}, nil
	}
}

// raceTolerant is a goka.TopicManager whose ensures retry a lost create race.
// Its fields are set once, so it is as safe for concurrent use as the
// manager it wraps.
type raceTolerant struct {
	goka.TopicManager
	wait time.Duration // how long an ensure keeps retrying
}

func (m raceTolerant) EnsureTableExists(topic string, npar int) error {
	return m.ensureRetrying(func() error { return m.TopicManager.EnsureTableExists(topic, npar) })
}

func (m raceTolerant) EnsureStreamExists(topic string, npar int) error {
	return m.ensureRetrying(func() error { return m.TopicManager.EnsureStreamExists(topic, npar) })
}

func (m raceTolerant) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	return m.ensureRetrying(func() error { return m.TopicManager.EnsureTopicExists(topic, npar, rfactor, config) })
}

// ensureRetrying runs ensure, and runs it again, with a growing delay, for as
// long as it fails because the topic already exists, up to m.wait. The
// retry is not blind: once goka sees the topic it takes its existing-topic
// path, which compares the partition count and config with what was asked,
// and reports a mismatch as it would have. goka's ensures take no context,
// so neither does the wait; it is bounded by m.wait.
func (m raceTolerant) ensureRetrying(ensure func() error) error {
	deadline := time.Now().Add(m.wait)
	delay := firstRetryDelay
	for {
		err := ensure()
		if !lostCreateRace(err) || time.Now().Add(delay).After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, maxRetryDelay)
	}
}

// lostCreateRace reports whether err is goka's create error for a topic that
// exists already. goka formats sarama's error with %v, so the cause cannot be
// unwrapped; its text, sarama's own, is matched instead.
func lostCreateRace(err error) bool {
	return err != nil && strings.Contains(err.Error(), sarama.ErrTopicAlreadyExists.Error())
}
