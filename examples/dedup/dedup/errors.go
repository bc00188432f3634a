package dedup

import "errors"

// ErrVerdict is wrapped by the error of a run whose verdict is not OK, where
// a caller makes it one.
var ErrVerdict = errors.New("dedup: verdict failed")
