package broker

import (
	"os"
	"testing"

	"github.com/riffle-streams/riffle/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if os.Getenv(memberEnv) != "" {
		// This process is the group member that TestRejoinAfterKill kills.
		os.Exit(runMember())
	}
	leakcheck.VerifyTestMain(m)
}
