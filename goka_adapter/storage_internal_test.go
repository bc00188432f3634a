package gokaadapter

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka/storage"
)

// oneWriterStorage fails the test if two writes overlap, which goka's
// storage contract (one writer) forbids.
type oneWriterStorage struct {
	storage.Storage
	t       *testing.T
	inside  atomic.Int32
	writes  atomic.Int64
	slowAll bool // every write parks for a moment, as a storage doing I/O
}

func (s *oneWriterStorage) Set(string, []byte) error {
	if n := s.inside.Add(1); n != 1 {
		s.t.Errorf("%d writers inside the storage at once", n)
	}
	if s.slowAll {
		time.Sleep(50 * time.Microsecond) // simulated work while holding the lock
	} else {
		runtime.Gosched() // widen the window for an overlapping writer
	}
	s.writes.Add(1)
	s.inside.Add(-1)
	return nil
}

// TestLockedStorageOneWriter: however many workers write at once, and
// whether the holder is quick (waiters yield) or slow (waiters queue after
// their tries), the storage sees one writer at a time and every write.
func TestLockedStorageOneWriter(t *testing.T) {
	for _, slow := range []bool{false, true} {
		inner := &oneWriterStorage{Storage: storage.NewMemory(), t: t, slowAll: slow}
		st := &lockedStorage{Storage: inner}
		writers, each := 32, 200
		if slow {
			writers, each = 8, 10 // each write sleeps
		}
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := st.Set("k", []byte("v")); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if got := inner.writes.Load(); got != int64(writers*each) {
			t.Fatalf("slow=%v: %d writes reached the storage, want %d", slow, got, writers*each)
		}
	}
}
