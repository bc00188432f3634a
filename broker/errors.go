package broker

import (
	"errors"
	"fmt"
)

// ErrInvalidSettings is wrapped by every error that reports a bad option or a
// bad Settings field: Start, Remote, Settings.Validate and the builders return
// it before any connection is opened.
var ErrInvalidSettings = errors.New("broker: invalid settings")

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
	return fmt.Sprintf("broker: topic %q has %d partitions, want %d", e.Topic, e.Existing, e.Partitions)
}

// invalid wraps ErrInvalidSettings with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSettings}, args...)...)
}
