package broker

import (
	"log"
	"os"
	"testing"

	"github.com/IBM/sarama"

	"github.com/riffle-streams/riffle/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if os.Getenv(memberEnv) != "" {
		// This process is the group member that TestRejoinAfterKill kills.
		os.Exit(runMember())
	}
	sarama.Logger = log.New(SaramaLog, "[sarama] ", 0) // see SaramaLog
	leakcheck.VerifyTestMain(m)
}
