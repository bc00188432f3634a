package asyncdsl

import (
	"testing"
	"unsafe"
)

// TestTaskSize keeps the per-record allocation in its size class: a task is
// allocated for every Submit, with the context of its first attempt inside
// (which would otherwise be a 128-byte allocation of its own), and 384 bytes
// is a malloc size class, so a field added past it costs every record 32
// bytes more.
func TestTaskSize(t *testing.T) {
	if got := unsafe.Sizeof(task{}); got > 384 {
		t.Fatalf("task is %d bytes, want at most 384 (see the field order note in taskstate.go)", got)
	}
}
