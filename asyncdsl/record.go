package asyncdsl

import (
	"fmt"
	"time"
)

// Coordinates say which consumed record something is about: where it is
// (topic, partition, offset) and its key. They are riffle's one way to name
// a record: the executor's Record, the goka adapter's errors, tracing's
// Message and the DSL's Record embed them, and String is how every message
// of riffle's prints a record.
type Coordinates struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
}

// String renders c as topic/partition@offset (key "k"), the key quoted as
// by %q.
func (c Coordinates) String() string {
	return fmt.Sprintf("%s/%d@%d (key %q)", c.Topic, c.Partition, c.Offset, c.Key)
}

// Record is the consumed record a Task works on, as the executor and its
// hooks see it.
type Record struct {
	Coordinates

	// Trace is the record's trace, set by the submitter and handed back
	// unchanged to every hook that receives the record; nil unless the
	// submitter sets it. The executor never calls it. It is not part of the
	// record's identity.
	Trace RecordTrace
}

// RecordTrace is the trace of one record, kept on its Record so that a hook
// that draws traces finds it without a lookup: package tracing's *Record is
// one, and its Hook calls these methods from its own of the same events,
// with the same arguments. The executor itself never calls them. Like hook
// methods, they are called from executor and worker goroutines,
// concurrently, and must not block.
type RecordTrace interface {
	// Submitted is called when the record's task was accepted, after
	// waitedForCapacity (see SubmitHook).
	Submitted(waitedForCapacity time.Duration)
	// Started is called when the task got a worker (see StartHook).
	Started(waitedForKey, waitedForWorker time.Duration)
	// Attempted is called after each attempt (see AttemptHook).
	Attempted(attempt int, took time.Duration, err error)
	// End is called when the task was released, and ends the trace (see
	// ReleaseHook).
	End(o Outcome, heldBack time.Duration)
}
