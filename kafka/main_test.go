package kafka

import (
	"log"
	"testing"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/internal/leakcheck"
)

func TestMain(m *testing.M) {
	sarama.Logger = log.New(SaramaLog, "[sarama] ", 0) // see SaramaLog
	leakcheck.VerifyTestMain(m)
}
