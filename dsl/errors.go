package dsl

import (
	"errors"
	"fmt"

	"github.com/riffle-streams/riffle"
)

// Sentinels wrapped by the errors that Build returns: by its *BuildError
// values, and ErrInvalidOption by its *ConfigError. Test for them with
// errors.Is.
var (
	// ErrNilFunc: an operator was given a nil function.
	ErrNilFunc = errors.New("dsl: nil function")
	// ErrEmptyName: a topic, table, store or topology name is empty.
	ErrEmptyName = errors.New("dsl: empty name")
	// ErrMissingCodec: a topic or table needs a codec that was not given.
	ErrMissingCodec = errors.New("dsl: missing codec")
	// ErrNameClash: two things of the topology would get the same topic or
	// group name.
	ErrNameClash = errors.New("dsl: name clash")
	// ErrAsync: an Async step where it cannot work.
	ErrAsync = errors.New("dsl: invalid async step")
	// ErrForeignStream: a stream, table or store of another topology.
	ErrForeignStream = errors.New("dsl: stream of another topology")
	// ErrEmptyTopology: the topology has no source.
	ErrEmptyTopology = errors.New("dsl: empty topology")
	// ErrInvalidOption: a BuilderOption with a value out of range; the Err
	// of a *ConfigError.
	ErrInvalidOption = errors.New("dsl: invalid option")
	// ErrBuilt: the topology was changed after Build.
	ErrBuilt = errors.New("dsl: topology already built")
)

// ErrNoStore is returned by Store.Get, Set and Delete from a step that was
// not declared with WithStore for that store.
var ErrNoStore = errors.New("dsl: store not declared on this step")

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "dsl" in the ones this package reports, and Err is
// ErrInvalidOption.
type ConfigError = riffle.ConfigError

// BuildError says what is wrong with one step of a topology and where.
type BuildError struct {
	Step int    // index of the step in the topology, in the order it was added
	Op   string // the operator, e.g. "MapValues"
	Name string // the step's topic, table or store name, if any
	Err  error  // the problem; wraps one of the Err* sentinels
}

func (e *BuildError) Error() string {
	where := fmt.Sprintf("step %d (%s", e.Step, e.Op)
	if e.Name != "" {
		where += " " + e.Name
	}
	return "dsl: " + where + "): " + e.Err.Error()
}

func (e *BuildError) Unwrap() error { return e.Err }

// RunError is the error of a group that stopped with an error.
type RunError struct {
	Group string
	Err   error
}

func (e *RunError) Error() string { return "dsl: group " + e.Group + ": " + e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }
