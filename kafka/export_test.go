package kafka

import "github.com/riffle-streams/riffle/internal/logcapture"

// SelfSignedTLS is selfSignedTLS for the external tests (package kafka_test).
var SelfSignedTLS = selfSignedTLS

// SaramaLog is what sarama's global Logger wrote during the package's tests:
// TestMain points sarama.Logger at it before any test starts, so that no
// test swaps the global while sarama goroutines of an earlier test log.
var SaramaLog = &logcapture.Log{}

// Fnv32a is fnv32a for the external tests (package kafka_test).
var Fnv32a = fnv32a
