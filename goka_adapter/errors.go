package gokaadapter

import (
	"errors"
	"fmt"
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

	// ErrContextOption is the error of a goka.ContextOption passed to Emit,
	// Loopback, SetValue or Delete inside an async callback. goka keeps the
	// state of its options unexported, so they cannot be read outside goka's
	// own context; use EmitWithHeaders instead.
	ErrContextOption = errors.New("gokaadapter: goka.ContextOption cannot be applied outside goka's context; use gokaadapter.EmitWithHeaders")
)

// ConfigError lists what is wrong with an adapter or processor configuration.
type ConfigError struct {
	Problems []string
	Err      error // the cause, when one error carries it
}

func (e *ConfigError) Error() string {
	msg := "gokaadapter: invalid configuration"
	for i, p := range e.Problems {
		if i == 0 {
			msg += ": " + p
		} else {
			msg += "; " + p
		}
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// DecodeError is the error of an input record whose value the topic's codec
// could not decode. It names the record's coordinates.
type DecodeError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("gokaadapter: cannot decode record %s/%d@%d (key %q): %v", e.Topic, e.Partition, e.Offset, e.Key, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// FailError is the error of a callback that called ctx.Fail.
type FailError struct{ Err error }

func (e *FailError) Error() string { return "gokaadapter: callback failed: " + e.Err.Error() }
func (e *FailError) Unwrap() error { return e.Err }

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
