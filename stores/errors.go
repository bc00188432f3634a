package stores

import (
	"errors"
	"fmt"

	"github.com/riffle-streams/riffle"
)

// ErrOtherKey is the cause of a GokaTable call for a key other than the
// record's own: goka's group table is readable and writable, from a callback,
// only for the key of the record being processed.
var ErrOtherKey = errors.New("stores: goka table is accessible only for the record's own key")

// ErrReadOnly is the cause of a write to a read-only store (GokaLookup).
var ErrReadOnly = errors.New("stores: store is read-only")

// ErrClosed is the cause of a call on a store whose Close was called.
var ErrClosed = errors.New("stores: store closed")

// ErrTransient is the cause of the errors an Injector injects. They stand for
// a remote store's transient failure: retrying may succeed.
var ErrTransient = errors.New("stores: transient store error")

// OpError is a failed store call. Err is the cause; when the call's context
// ended, it wraps the context's error, so errors.Is(err,
// context.DeadlineExceeded) works.
type OpError struct {
	Store string // "memory", "redis", "goka", "injector"
	Op    string // "get", "put", "delete", "seen-or-add"
	Key   string
	Err   error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("stores: %s %s %q: %v", e.Store, e.Op, e.Key, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// TransientError is the error an Injector returns for a call it made fail.
// errors.Is(err, ErrTransient) reports true for it.
type TransientError struct {
	Op  string
	Key string
}

func (e *TransientError) Error() string {
	return fmt.Sprintf("stores: injected transient error on %s %q", e.Op, e.Key)
}

// Is makes errors.Is(err, ErrTransient) true.
func (e *TransientError) Is(target error) bool { return target == ErrTransient }

// Temporary reports true: the failure is transient.
func (e *TransientError) Temporary() bool { return true }

// KeyScopeError is a GokaTable call for a key other than the record's.
// errors.Is(err, ErrOtherKey) reports true for it.
type KeyScopeError struct {
	Op        string
	Key       string // the key asked for
	RecordKey string // the record's key, the only one allowed
}

func (e *KeyScopeError) Error() string {
	return fmt.Sprintf("stores: goka table %s %q from the callback of key %q: only the record's own key is accessible", e.Op, e.Key, e.RecordKey)
}

// Is makes errors.Is(err, ErrOtherKey) true.
func (e *KeyScopeError) Is(target error) bool { return target == ErrOtherKey }

// TypeError is a goka table value of a type that is neither the store's V
// nor []byte: the table was declared with a codec that does not fit.
type TypeError struct {
	Key  string
	Got  string // the value's dynamic type
	Want string // V
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("stores: goka table value of key %q is a %s, want %s or []byte (declare the table with codec.Goka or goka's codec.Bytes)", e.Key, e.Got, e.Want)
}

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "stores" in the ones this package reports.
type ConfigError = riffle.ConfigError

// problems collects configuration problems for a ConfigError.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ConfigError{Package: "stores", Problems: p}
}
