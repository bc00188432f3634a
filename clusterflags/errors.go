package clusterflags

import "errors"

// ErrFlags is wrapped by the errors of flags that do not fit together, or
// that name a file that cannot be read. Their messages never show a
// password.
var ErrFlags = errors.New("clusterflags: bad security flags")
