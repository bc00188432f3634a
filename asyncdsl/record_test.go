package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCoordinatesString(t *testing.T) {
	tests := []struct {
		c    Coordinates
		want string
	}{
		{Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}, `orders/3@42 (key "user-7")`},
		{Coordinates{}, `/0@0 (key "")`},
		{Coordinates{Topic: "t", Partition: -1, Offset: -1, Key: "a \"b\"\n\x00é"}, `t/-1@-1 (key "a \"b\"\n\x00é")`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
		// A Record, and so a Task, prints as its coordinates.
		if got := fmt.Sprint(Record{Coordinates: tt.c}); got != tt.want {
			t.Errorf("Record prints as %s, want %s", got, tt.want)
		}
	}
}

// TestErrorsNameTheRecord pins the text of every error of the package that
// names a record: Coordinates.String must render exactly what the errors
// wrote before it existed.
func TestErrorsNameTheRecord(t *testing.T) {
	rec := Record{Coordinates: Coordinates{Topic: "in", Partition: 2, Offset: 7, Key: "k\"1"}}
	cause := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"TaskError", &TaskError{Record: rec, Attempts: 3, Err: cause},
			`asyncdsl: record in/2@7 (key "k\"1") failed after 3 attempt(s): boom`},
		{"StuckCallError", &StuckCallError{Record: rec, Attempt: 2, Timeout: time.Second, Grace: 100 * time.Millisecond, Stuck: 1, Limit: 4},
			`asyncdsl: attempt 2 of record in/2@7 (key "k\"1") did not return within its call timeout of 1s (+100ms): context deadline exceeded; its result will be discarded`},
		{"partitionFailedError", &partitionFailedError{rec: rec.Coordinates},
			`asyncdsl: record in/2@7 (key "k\"1") not processed: asyncdsl: an earlier record of the partition failed`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}

	e := newExecutor(t)
	err := e.Submit(context.Background(), Task{Record: rec})
	want := `asyncdsl: invalid task for record in/2@7 (key "k\"1"): nil Ctx`
	if err == nil || err.Error() != want {
		t.Errorf("Submit of an invalid task = %v, want %s", err, want)
	}
}
