package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
)

func TestRecordPrintsAsItsCoordinates(t *testing.T) {
	r := Record{Coordinates: riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}}
	if got, want := fmt.Sprint(r), `orders/3@42 (key "user-7")`; got != want {
		t.Errorf("Record prints as %s, want %s", got, want)
	}
}

// TestErrorsNameTheRecord pins the text of every error of the package that
// names a record: riffle.Coordinates.String must render exactly what the
// errors wrote before it existed.
func TestErrorsNameTheRecord(t *testing.T) {
	rec := Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 2, Offset: 7, Key: "k\"1"}}
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
