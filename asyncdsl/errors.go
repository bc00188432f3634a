package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riffle-streams/riffle"
)

// ErrClosed is returned by Submit after Close has started.
var ErrClosed = errors.New("asyncdsl: executor closed")

// ErrPartitionFailed is the cause carried by tasks released as Failed because
// an earlier task of the same assignment failed.
var ErrPartitionFailed = errors.New("asyncdsl: an earlier record of the partition failed")

// ErrTooManyStuck is wrapped by the error of a task that failed because more
// goroutines were stuck in user code than WithMaxStuck allows.
var ErrTooManyStuck = errors.New("asyncdsl: too many goroutines stuck in user code")

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "asyncdsl" in the ones this package reports.
type ConfigError = riffle.ConfigError

// TaskError is the error of a task whose attempts were exhausted. It names the
// record so that logs and dead-letter headers can point at it.
type TaskError struct {
	Record   Record
	Attempts int
	Err      error
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("asyncdsl: record %s failed after %d attempt(s): %v", e.Record.Coordinates, e.Attempts, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }

// PanicError is a panic recovered from user code, with the stack of the
// goroutine that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("asyncdsl: panic in user code: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the executor does not retry it. The error
// policy still applies. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// refusedError marks a write that its destination refused for a reason of
// the record itself (see Refused).
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }

// Refused wraps the error of a write that its destination refused for a
// permanent reason of the record itself (too large, invalid), so that
// writing it again cannot succeed but other records are not affected. An
// Apply passes such an error to its done callback: the executor then hands
// the task to the error policy, as if its attempt had failed, instead of
// failing the assignment (see Apply). Refused(nil) is nil.
//
// Errors of the destination or of the way to it (unreachable, not
// authorized, closed) must not be marked: they fail the assignment.
func Refused(err error) error {
	if err == nil {
		return nil
	}
	return refusedError{err: err}
}

// IsRefused reports whether err, or an error it wraps, was marked Refused.
func IsRefused(err error) bool {
	var r refusedError
	return errors.As(err, &r)
}

// WriteRefusedError is the error of a task whose writes were refused (see
// Refused) after its attempt succeeded. It is what the error policy sees:
// Skipped and DeadLettered outcomes carry it, wrapped in a *TaskError, and
// DeadLetter receives it.
type WriteRefusedError struct {
	Err error // the refused write's error, marked Refused
}

func (e *WriteRefusedError) Error() string { return "asyncdsl: write refused: " + e.Err.Error() }
func (e *WriteRefusedError) Unwrap() error { return e.Err }

// DeadLetterRefusedError is the error DeadLetter receives when the dead
// letter it wrote before was refused (see Refused): DeadLetter should then
// write a reduced dead letter (the record's value left out or cut, say), once.
// If that is refused too, the task is released Skipped with this error, so
// that a record that cannot be dead-lettered never stops the processor.
//
// DeadLetter receives it, and Skipped and DeadLettered outcomes carry it,
// wrapped in a *TaskError.
type DeadLetterRefusedError struct {
	// Cause is the error the record was dead-lettered for: the last
	// attempt's error, or a *WriteRefusedError.
	Cause error
	// Refusal is the refused dead letter's write error, marked Refused.
	Refusal error
	// Reduced reports whether the refused dead letter was the reduced one
	// already: the error of a task released Skipped.
	Reduced bool
}

func (e *DeadLetterRefusedError) Error() string {
	which := "dead letter"
	if e.Reduced {
		which = "reduced dead letter"
	}
	return fmt.Sprintf("asyncdsl: %s refused: %v (dead-lettered for: %v)", which, e.Refusal, e.Cause)
}

// Unwrap returns the refusal and the cause.
func (e *DeadLetterRefusedError) Unwrap() []error { return []error{e.Refusal, e.Cause} }

// StuckCallError is the error of an attempt that did not return by its call
// deadline plus a grace, although its context had ended: the executor gave
// up on it (its goroutine stays stuck in user code until the code returns,
// and its result is discarded then). It wraps context.DeadlineExceeded, so
// it is retried and handled by the error policy like any timeout; if Stuck
// exceeds Limit it also matches ErrTooManyStuck, and its task fails.
type StuckCallError struct {
	Record  Record
	Attempt int
	Timeout time.Duration // the call timeout
	Grace   time.Duration // how long past the deadline the executor waited
	Stuck   int           // goroutines stuck in user code, this one included
	Limit   int           // WithMaxStuck
}

func (e *StuckCallError) Error() string {
	msg := fmt.Sprintf("asyncdsl: attempt %d of record %s did not return within its call timeout of %s (+%s): %v; its result will be discarded",
		e.Attempt, e.Record.Coordinates, e.Timeout, e.Grace, context.DeadlineExceeded)
	if e.overLimit() {
		msg += fmt.Sprintf("; %v: %d, more than the limit of %d", ErrTooManyStuck, e.Stuck, e.Limit)
	}
	return msg
}

// Unwrap returns context.DeadlineExceeded, and ErrTooManyStuck over the
// limit.
func (e *StuckCallError) Unwrap() []error {
	if e.overLimit() {
		return []error{context.DeadlineExceeded, ErrTooManyStuck}
	}
	return []error{context.DeadlineExceeded}
}

func (e *StuckCallError) overLimit() bool { return e.Stuck > e.Limit }
