package gokaadapter

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/riffle-streams/riffle"
)

var (
	// ErrNotRunning is returned when write-back needs the processor's
	// producer or storage before goka has built them.
	ErrNotRunning = errors.New("gokaadapter: processor not running")

	// ErrAdapterInUse is returned by NewProcessor when the adapter already
	// built a processor: each processor needs its own adapter, because the
	// adapter holds that processor's storages, producer and commit gate.
	ErrAdapterInUse = errors.New("gokaadapter: adapter already built a processor")

	// ErrNoAsyncCallback is returned by NewProcessor when no callback of the
	// graph was wrapped by this adapter.
	ErrNoAsyncCallback = errors.New("gokaadapter: no callback of the graph is wrapped by this adapter")

	// ErrStateless is the error of Value, SetValue and Delete in a group
	// without a table (goka.Persist).
	ErrStateless = errors.New("gokaadapter: cannot access state in a group without goka.Persist")

	// ErrUnwrappedProcessor is the error of an async callback that runs in a
	// processor that was not built with Adapter.NewProcessor.
	ErrUnwrappedProcessor = errors.New("gokaadapter: async callback runs in a processor not built by its adapter's NewProcessor")

	// ErrGokaOptions is the error of NewProcessor when it is given goka
	// options but cannot read the builders among them, because goka's
	// processor options changed shape (goka_options.go). Pass the builders
	// as the adapter's options instead, and no goka option that sets one.
	ErrGokaOptions = errors.New("gokaadapter: cannot read the builders in goka's processor options; pass them as gokaadapter.WithStorageBuilder, WithProducerBuilder, WithConsumerGroupBuilder and WithTopicManagerBuilder instead of goka options")

	// ErrBuilderConflict is wrapped by the *ConfigError of NewProcessor when
	// a builder is given both as a goka option and as the adapter's option.
	ErrBuilderConflict = errors.New("gokaadapter: builder given twice")

	// ErrContextOption is the error of a goka.ContextOption passed to Emit,
	// Loopback, SetValue or Delete inside an async callback. goka keeps the
	// state of its options unexported, so they cannot be read outside goka's
	// own context; use EmitWithHeaders instead.
	ErrContextOption = errors.New("gokaadapter: goka.ContextOption cannot be applied outside goka's context; use gokaadapter.EmitWithHeaders")
)

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "gokaadapter" in the ones this package reports.
type ConfigError = riffle.ConfigError

// DecodeError is the error of an input record whose value the topic's codec
// could not decode. It names the record's coordinates.
type DecodeError struct {
	riffle.Coordinates
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("gokaadapter: cannot decode record %s: %v", e.Coordinates, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// MispartitionedError is the error, under WithStrictPartitioning, of an
// input record whose key the processor's hasher (WithHasher) puts in
// another partition than the one the record came from: its producer does
// not partition as goka does, and the key's state is in partition Expected.
// It is permanent: the error policy decides at once.
type MispartitionedError struct {
	riffle.Coordinates
	Expected int32
}

func (e *MispartitionedError) Error() string {
	return fmt.Sprintf("gokaadapter: record %s is in the wrong partition: the processor's hasher puts its key in partition %d",
		e.Coordinates, e.Expected)
}

// FailError is the error of a callback that called ctx.Fail.
type FailError struct{ Err error }

func (e *FailError) Error() string { return "gokaadapter: callback failed: " + e.Err.Error() }
func (e *FailError) Unwrap() error { return e.Err }

// RefusedError is the error of a write that the broker, or the producer
// before sending, refused for what the record is (too large, invalid; see
// refusal.go for the list). It goes to the record's error policy instead of
// stopping the processor.
type RefusedError struct {
	Topic string
	Key   string
	Bytes int // key, value and headers
	Err   error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("gokaadapter: write to %s refused (key %q, %d bytes): %v", e.Topic, e.Key, e.Bytes, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// PartitionStopError is the error goka receives for the record whose
// failure stops the processor (under the fail policy, or a write that
// failed): the record's error (an *asyncdsl.TaskError), once. The records
// of the partition after it that the adapter had taken are not committed
// either; goka is not told of each (it would collect one error per record),
// they are counted here instead, and Processor.Run's error says how many.
type PartitionStopError struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error

	notCommitted atomic.Int64
}

func (e *PartitionStopError) Error() string {
	return fmt.Sprintf("gokaadapter: partition %s/%d stopped: %v", e.Topic, e.Partition, e.Err)
}

func (e *PartitionStopError) Unwrap() error { return e.Err }

// NotCommitted returns how many later records of the partition were released
// uncommitted because of this failure so far; final once Processor.Run has
// returned. They are consumed again after a restart.
func (e *PartitionStopError) NotCommitted() int64 { return e.notCommitted.Load() }

// RejoinError is the error of a processor whose consumer group failed with
// transient errors more times in a row than its Rejoin policy allows. Err
// is the last of them.
type RejoinError struct {
	Group    string
	Attempts int // joins in a row that failed, the first one included
	Err      error
}

func (e *RejoinError) Error() string {
	return fmt.Sprintf("gokaadapter: group %s: %d joins in a row failed: %v", e.Group, e.Attempts, e.Err)
}

func (e *RejoinError) Unwrap() error { return e.Err }
