package clusterflags

import (
	"testing"

	"github.com/riffle-streams/riffle/internal/leakcheck"
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m)
}
