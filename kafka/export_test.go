package kafka

import (
	"bytes"
	"sync"
)

// SelfSignedTLS is selfSignedTLS for the external tests (package kafka_test).
var SelfSignedTLS = selfSignedTLS

// SaramaLog is what sarama's global Logger wrote during the package's tests:
// TestMain points sarama.Logger at it before any test starts, so that no
// test swaps the global while sarama goroutines of an earlier test log.
var SaramaLog = &lockedBuffer{}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns a copy of what was written.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Fnv32a is fnv32a for the external tests (package kafka_test).
var Fnv32a = fnv32a
