package broker

import (
	"errors"
	"fmt"
)

// ErrInvalidOption is wrapped by every error of Start that reports a bad
// option, before anything listens. When the option is one of the client
// settings the cluster hands out (WithPartitions, WithSaramaConfig,
// WithSASL), the error wraps kafka.ErrInvalidSettings too.
var ErrInvalidOption = errors.New("broker: invalid option")

// invalid wraps ErrInvalidOption with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}
