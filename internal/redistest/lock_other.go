//go:build !unix

package redistest

import "context"

// lockFile is a no-op where flock is missing; Install still runs once per
// process.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
