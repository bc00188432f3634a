package gokaadapter_test

import (
	"errors"
	"testing"

	"github.com/riffle-streams/riffle"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// TestErrorsNameTheRecord pins the text of the errors that name a record by
// its coordinates (riffle.Coordinates.String).
func TestErrorsNameTheRecord(t *testing.T) {
	c := riffle.Coordinates{Topic: "in", Partition: 2, Offset: 7, Key: "k\"1"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"DecodeError", &gokaadapter.DecodeError{Coordinates: c, Err: errors.New("bad")},
			`gokaadapter: cannot decode record in/2@7 (key "k\"1"): bad`},
		{"MispartitionedError", &gokaadapter.MispartitionedError{Coordinates: c, Expected: 0},
			`gokaadapter: record in/2@7 (key "k\"1") is in the wrong partition: the processor's hasher puts its key in partition 0`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
