package gokaadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The produce errors of both producers, as they reach an emit's callback,
// sorted into per-record refusals and errors that stop the processor.
func TestRefusedForRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
	}{
		{"franz-go broker MESSAGE_TOO_LARGE", fmt.Errorf("%w (uncompressed_bytes=9, compressed_bytes=9)", kerr.MessageTooLarge), true},
		{"franz-go client size check", fmt.Errorf("%w (uncompressed_bytes=9)", kerr.MessageTooLarge), true},
		{"franz-go RECORD_LIST_TOO_LARGE", kerr.RecordListTooLarge, true},
		{"franz-go INVALID_RECORD", kerr.InvalidRecord, true},
		{"franz-go INVALID_TIMESTAMP", kerr.InvalidTimestamp, true},
		{"sarama broker MESSAGE_TOO_LARGE", &sarama.ProducerError{Err: sarama.ErrMessageSizeTooLarge}, true},
		{"sarama client size check", &sarama.ProducerError{Err: sarama.ConfigurationError(
			"Attempt to produce message larger than configured Producer.MaxMessageBytes: 9000 > 2048")}, true},
		{"sarama RECORD_LIST_TOO_LARGE", &sarama.ProducerError{Err: sarama.ErrMessageSetSizeTooLarge}, true},
		{"sarama INVALID_RECORD", &sarama.ProducerError{Err: sarama.ErrInvalidRecord}, true},
		{"sarama INVALID_TIMESTAMP", &sarama.ProducerError{Err: sarama.ErrInvalidTimestamp}, true},

		{"franz-go not leader", kerr.NotLeaderForPartition, false},
		{"franz-go authorization", kerr.TopicAuthorizationFailed, false},
		{"franz-go unknown topic", kerr.UnknownTopicOrPartition, false},
		{"franz-go record timeout", kgo.ErrRecordTimeout, false},
		{"franz-go producer closed", fmt.Errorf("%w: %w", kafka.ErrProducerClosed, kgo.ErrClientClosed), false},
		{"sarama authorization", &sarama.ProducerError{Err: sarama.ErrTopicAuthorizationFailed}, false},
		{"sarama out of brokers", &sarama.ProducerError{Err: sarama.ErrOutOfBrokers}, false},
		{"sarama shutting down", &sarama.ProducerError{Err: sarama.ErrShuttingDown}, false},
		{"sarama headers on an old protocol", &sarama.ProducerError{Err: sarama.ConfigurationError(
			"Producing headers requires Kafka at least v0.11")}, false},
		{"revoked", errRevoked, false},
		{"cancelled", context.Canceled, false},
		{"not running", ErrNotRunning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusedForRecord(tc.err); got != tc.refused {
				t.Errorf("refusedForRecord(%v) = %v, want %v", tc.err, got, tc.refused)
			}
			op := &effect{kind: effectEmit, topic: "out", key: "k", value: []byte("v")}
			err := produceError(op, tc.err)
			if asyncdsl.IsRefused(err) != tc.refused || !errors.Is(err, tc.err) {
				t.Errorf("produceError(%v) = %v: refused %v, want %v, wrapping the cause", tc.err, err, asyncdsl.IsRefused(err), tc.refused)
			}
		})
	}
}

// A refusal does not hide another failed write of the same record.
func TestAckCounterKeepsTheErrorThatIsNotARefusal(t *testing.T) {
	refused := asyncdsl.Refused(kerr.MessageTooLarge)
	for _, order := range [][]error{{refused, kerr.TopicAuthorizationFailed}, {kerr.TopicAuthorizationFailed, refused}} {
		var got error
		var c ackCounter
		c.start(func(err error) { got = err })
		c.add()
		c.add()
		c.finish(order[0])
		c.finish(order[1])
		c.finish(nil)
		if !errors.Is(got, kerr.TopicAuthorizationFailed) || asyncdsl.IsRefused(got) {
			t.Errorf("errors %v: done got %v, want the authorization error", order, got)
		}
	}
}

func TestTopFrames(t *testing.T) {
	var b strings.Builder
	b.WriteString("goroutine 7 [running]:\n")
	frame := func(fn string) { fmt.Fprintf(&b, "%s\n\t/src/%s.go:1 +0x1\n", fn, fn) }
	frame("runtime/debug.Stack()")
	frame("asyncdsl.callAttempt.func1()")
	frame("panic({0x1, 0x2})")
	for i := range 20 {
		frame(fmt.Sprintf("user.f%d()", i))
	}
	got := topFrames(b.String(), 3)
	want := "goroutine 7 [running]:\n" +
		"user.f0()\n\t/src/user.f0().go:1 +0x1\n" +
		"user.f1()\n\t/src/user.f1().go:1 +0x1\n" +
		"user.f2()\n\t/src/user.f2().go:1 +0x1\n" +
		"... 17 more frames cut\n"
	if got != want {
		t.Errorf("topFrames:\n%s\nwant:\n%s", got, want)
	}

	// The adapter's and executor's frames below the user's callback are
	// cut even within the frame limit.
	b.Reset()
	b.WriteString("goroutine 8 [running]:\n")
	frame("panic({0x1, 0x2})")
	frame("user.explode()")
	frame("user.callback()")
	frame(strings.TrimSuffix(callbackRunner, "(") + "(0xc0001, 0x2)")
	frame("github.com/riffle-streams/riffle/asyncdsl.callAttempt()")
	frame("github.com/riffle-streams/riffle/asyncdsl.(*Executor).work()")
	got = topFrames(b.String(), 8)
	want = "goroutine 8 [running]:\n" +
		"user.explode()\n\t/src/user.explode().go:1 +0x1\n" +
		"user.callback()\n\t/src/user.callback().go:1 +0x1\n" +
		"... 3 more frames cut\n"
	if got != want {
		t.Errorf("topFrames cut at the callback:\n%s\nwant:\n%s", got, want)
	}
}

func TestCapped(t *testing.T) {
	s := strings.Repeat("é", 100) // 2 bytes each
	for _, limit := range []int{50, 51, 199, 200} {
		got := capped(s, limit)
		if len(got) > limit || !utf8.ValidString(got) {
			t.Errorf("capped(200 bytes, %d) = %d bytes, valid UTF-8 %v", limit, len(got), utf8.ValidString(got))
		}
		if limit < len(s) && !strings.HasSuffix(got, "bytes cut)") {
			t.Errorf("capped(200 bytes, %d) = %q does not say it was cut", limit, got)
		}
	}
	if capped(s, 500) != s {
		t.Error("capped cut a string under its limit")
	}
}
