package logcapture_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/riffle-streams/riffle/internal/logcapture"
)

func TestLogKeepsLinesFromEveryKindOfWriter(t *testing.T) {
	var l logcapture.Log
	if got := l.Lines(); got != nil {
		t.Fatalf("empty log has lines %q", got)
	}
	_, _ = l.Write([]byte("a partial "))
	_, _ = l.Write([]byte("write\n"))
	l.Print("print ", 1)
	l.Printf("printf %d\n", 2)
	l.Println("println", 3)
	l.Logger().Info("slog", "n", 4)
	got := l.Lines()
	want := []string{"a partial write", "print 1", "printf 2", "println 3"}
	if len(got) != 5 || !slices.Equal(got[:4], want) {
		t.Fatalf("lines %q, want %q and the slog record", got, want)
	}
	if m := l.Matching("slog"); len(m) != 1 || m[0] != got[4] {
		t.Fatalf("Matching(slog) = %q", m)
	}
}

func TestLogIsSafeForConcurrentWriters(t *testing.T) {
	var l logcapture.Log
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				l.Printf("line")
				_ = l.Matching("line")
			}
		})
	}
	wg.Wait()
	if n := len(l.Matching("line")); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
}
