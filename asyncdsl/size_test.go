package asyncdsl

import (
	"testing"
	"unsafe"
)

// TestTaskSize keeps the per-record allocation in its size class: a task is
// allocated for every Submit, and 256 bytes is a malloc size class, so a
// field added past it costs every record 32 bytes more.
func TestTaskSize(t *testing.T) {
	if got := unsafe.Sizeof(task{}); got > 256 {
		t.Fatalf("task is %d bytes, want at most 256 (see the field order note in taskstate.go)", got)
	}
}
