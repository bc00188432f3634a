package kafka

import (
	"errors"
	"fmt"

	"github.com/riffle-streams/riffle"
)

// ErrInvalidSettings is the Err of every *ConfigError that reports bad
// options or bad Settings fields: Remote, Settings.Validate and EnsureTopics
// return one before any connection is opened, and broker.Start wraps one for
// the client settings of its cluster. errors.Is finds it.
var ErrInvalidSettings = errors.New("kafka: invalid settings")

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "kafka" in the ones this package reports, Problems has every
// bad option and field, and Err is ErrInvalidSettings.
type ConfigError = riffle.ConfigError

// invalid returns the *ConfigError of problems, or nil if there are none.
func invalid(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return &ConfigError{Package: "kafka", Problems: problems, Err: ErrInvalidSettings}
}

// TopicMismatchError reports a topic that EnsureTopics found already created
// with a partition count other than the one asked for. goka needs every input
// of a group, its loop topic and its table to have the same partition count
// (they are co-partitioned), so EnsureTopics refuses instead of ignoring it.
type TopicMismatchError struct {
	Topic      string
	Partitions int // what Settings.Partitions asked for
	Existing   int // what the cluster has
}

func (e *TopicMismatchError) Error() string {
	return fmt.Sprintf("kafka: topic %q has %d partitions, want %d", e.Topic, e.Existing, e.Partitions)
}

// ErrAuthenticationFailed is wrapped by the errors of riffle's clients when
// the cluster refused their SASL credentials: a broker that answers
// SASL_AUTHENTICATION_FAILED (Kafka, Redpanda), or one that closes the
// connection in the middle of the exchange before the client ever
// authenticated (the embedded cluster does). The error names the mechanism,
// never the credentials.
//
// EnsureTopics, the franz-go producer's emits and the builders of goka's
// sarama clients (ProcessorOptions, ViewOptions, EmitterOptions) return it
// within about a second instead of retrying; goka formats the builder errors
// it passes on with %v, so through a goka processor's Run the message says
// "kafka: authentication failed" but errors.Is cannot see it.
var ErrAuthenticationFailed = errors.New("kafka: authentication failed")
