package topicmanager

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// scriptedManager answers its ensures from a script of errors, one per call;
// past the end of the script it repeats the last entry.
type scriptedManager struct {
	goka.TopicManager // nil: a call of any other method panics the test

	mu     sync.Mutex
	script []error
	calls  int
}

func (m *scriptedManager) next() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return m.script[min(m.calls, len(m.script))-1]
}

func (m *scriptedManager) EnsureTableExists(string, int) error  { return m.next() }
func (m *scriptedManager) EnsureStreamExists(string, int) error { return m.next() }
func (m *scriptedManager) EnsureTopicExists(string, int, int, map[string]string) error {
	return m.next()
}

// gokaCreateError is the error goka's topic manager returns when its create
// loses the race: sarama's error, formatted into goka's text with %v.
func gokaCreateError(topic string) error {
	return fmt.Errorf("error creating topic %s, npar=4, rfactor=1, config=map[]: %v", topic, sarama.ErrTopicAlreadyExists)
}

func TestEnsureRetriesOnlyALostCreateRace(t *testing.T) {
	lost := gokaCreateError("t")
	mismatch := errors.New("partition count mismatch for topic 't'. Need 4, but existing topic has 2")
	ensures := map[string]func(goka.TopicManager) error{
		"table":  func(tm goka.TopicManager) error { return tm.EnsureTableExists("t", 4) },
		"stream": func(tm goka.TopicManager) error { return tm.EnsureStreamExists("t", 4) },
		"topic":  func(tm goka.TopicManager) error { return tm.EnsureTopicExists("t", 4, 1, nil) },
	}
	cases := []struct {
		name      string
		script    []error
		want      error
		wantCalls int
	}{
		{"created", []error{nil}, nil, 1},
		{"other error is not retried", []error{mismatch}, mismatch, 1},
		{"lost race, then found", []error{lost, lost, nil}, nil, 3},
		// The retry runs goka's check of an existing topic, whose verdict
		// stands.
		{"lost race, then mismatch", []error{lost, mismatch}, mismatch, 2},
	}
	for kind, ensure := range ensures {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				inner := &scriptedManager{script: c.script}
				err := ensure(raceTolerant{TopicManager: inner, wait: time.Minute})
				if err != c.want {
					t.Errorf("err = %v, want %v", err, c.want)
				}
				if inner.calls != c.wantCalls {
					t.Errorf("inner ensure called %d times, want %d", inner.calls, c.wantCalls)
				}
			})
		}
	}
}

func TestEnsureGivesUpAfterItsWait(t *testing.T) {
	lost := gokaCreateError("t")
	inner := &scriptedManager{script: []error{lost}}
	start := time.Now()
	err := raceTolerant{TopicManager: inner, wait: 200 * time.Millisecond}.EnsureTableExists("t", 4)
	if err != lost {
		t.Fatalf("err = %v, want the lost race's error %v", err, lost)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %s, want about its 200ms wait", took)
	}
	if inner.calls < 2 {
		t.Errorf("inner ensure called %d times, want retries", inner.calls)
	}
}

func TestRaceTolerantBuilder(t *testing.T) {
	if RaceTolerant(nil) != nil {
		t.Errorf("RaceTolerant(nil) is not nil")
	}
	inner := &scriptedManager{script: []error{nil}}
	var built int
	base := func([]string) (goka.TopicManager, error) { built++; return inner, nil }
	twice := RaceTolerant(RaceTolerant(base))
	tm, err := twice(nil)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	rt, ok := tm.(raceTolerant)
	if !ok {
		t.Fatalf("built %T, want raceTolerant", tm)
	}
	if rt.TopicManager != inner {
		t.Errorf("wrapped %T, want the base manager wrapped once", rt.TopicManager)
	}
	if built != 1 {
		t.Errorf("base builder called %d times, want 1", built)
	}

	failing := errors.New("no brokers")
	_, err = RaceTolerant(func([]string) (goka.TopicManager, error) { return nil, failing })(nil)
	if err != failing {
		t.Errorf("build error = %v, want %v", err, failing)
	}
}
