package riffle_test

import (
	"fmt"
	"testing"

	"github.com/riffle-streams/riffle"
)

func TestCoordinatesString(t *testing.T) {
	tests := []struct {
		c    riffle.Coordinates
		want string
	}{
		{riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}, `orders/3@42 (key "user-7")`},
		{riffle.Coordinates{}, `/0@0 (key "")`},
		{riffle.Coordinates{Topic: "t", Partition: -1, Offset: -1, Key: "a \"b\"\n\x00é"}, `t/-1@-1 (key "a \"b\"\n\x00é")`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

func ExampleCoordinates() {
	c := riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}
	fmt.Println(c)
	// Output: orders/3@42 (key "user-7")
}
