package gokaadapter_test

import (
	"testing"

	"github.com/riffle-streams/riffle/internal/leakcheck"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// processor, executor, cluster and client a test starts must be stopped by
// the time the tests are over.
func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m)
}
