package broker

import (
	"errors"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/kafka"
)

// ErrInvalidOption is the Err of the *ConfigError that Start returns for bad
// options, before anything listens; errors.Is finds it. When client settings
// the cluster hands out (WithPartitions, WithSaramaConfig, WithSASL) are
// among the problems, the error wraps kafka's *ConfigError too, so errors.Is
// finds kafka.ErrInvalidSettings as well.
var ErrInvalidOption = errors.New("broker: invalid option")

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "broker" in the ones this package reports, and Problems has
// every bad option, the client settings' included.
type ConfigError = riffle.ConfigError

// invalid returns the *ConfigError of problems and of client, the error of
// kafka.Remote for the cluster's client settings, or nil if there are none.
func invalid(problems []string, client error) error {
	if len(problems) == 0 && client == nil {
		return nil
	}
	var cause error = ErrInvalidOption
	if client != nil {
		var ke *kafka.ConfigError
		if errors.As(client, &ke) {
			for _, p := range ke.Problems {
				problems = append(problems, "client settings: "+p)
			}
		} else {
			problems = append(problems, "client settings: "+client.Error())
		}
		cause = &clientSettingsError{kafka: client}
	}
	return &ConfigError{Package: "broker", Problems: problems, Err: cause}
}

// clientSettingsError is the Err of a ConfigError of Start whose problems
// include client settings that kafka.Remote rejected. It reads as
// ErrInvalidOption, so the message names kafka's problems once, among the
// broker's, and it unwraps to both ErrInvalidOption and kafka's error.
type clientSettingsError struct{ kafka error }

func (e *clientSettingsError) Error() string   { return ErrInvalidOption.Error() }
func (e *clientSettingsError) Unwrap() []error { return []error{ErrInvalidOption, e.kafka} }
