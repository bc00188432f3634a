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

// The format is fixed: remote services keep the keys they saw, so a
// change would make them take a replayed record for a new one.
func TestIdempotencyKeyFormat(t *testing.T) {
	tests := []struct {
		c     riffle.Coordinates
		group string
		want  string
	}{
		{riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}, "billing", "orders/3@42#billing"},
		{riffle.Coordinates{Topic: "a.b_c-D9", Partition: 0, Offset: 0}, "g", "a.b_c-D9/0@0#g"},
		{riffle.Coordinates{Topic: "t", Partition: 2147483647, Offset: 9223372036854775807}, "g", "t/2147483647@9223372036854775807#g"},
		// The group may hold any character; it comes last, so the key
		// still splits at the first '/', '@' and '#'.
		{riffle.Coordinates{Topic: "in", Partition: 1, Offset: 7}, "team/#1@eu", "in/1@7#team/#1@eu"},
		{riffle.Coordinates{Topic: "in", Partition: 1, Offset: 7}, "", "in/1@7#"},
	}
	for _, tt := range tests {
		if got := tt.c.IdempotencyKey(tt.group); got != tt.want {
			t.Errorf("%v.IdempotencyKey(%q) = %q, want %q", tt.c, tt.group, got, tt.want)
		}
	}
}

// A key costs one allocation, whatever the size of its numbers: the
// tracing of a record and its dead letter build it on the record's path.
func TestIdempotencyKeyAllocations(t *testing.T) {
	c := riffle.Coordinates{Topic: "orders", Partition: -2147483648, Offset: -9223372036854775808}
	var key string
	if n := testing.AllocsPerRun(100, func() { key = c.IdempotencyKey("billing") }); n != 1 {
		t.Errorf("IdempotencyKey: %v allocations, want 1", n)
	}
	if want := "orders/-2147483648@-9223372036854775808#billing"; key != want {
		t.Errorf("IdempotencyKey = %q, want %q", key, want)
	}
}

// Keys differ for different records and for different groups, and the
// record key does not enter: the coordinates name the record.
func TestIdempotencyKeyDistinct(t *testing.T) {
	base := riffle.Coordinates{Topic: "in", Partition: 1, Offset: 12, Key: "k"}
	variants := []struct {
		name  string
		c     riffle.Coordinates
		group string
	}{
		{"base", base, "g"},
		{"other topic", riffle.Coordinates{Topic: "in2", Partition: 1, Offset: 12, Key: "k"}, "g"},
		{"other partition", riffle.Coordinates{Topic: "in", Partition: 11, Offset: 2, Key: "k"}, "g"},
		{"other offset", riffle.Coordinates{Topic: "in", Partition: 1, Offset: 2, Key: "k"}, "g"},
		{"offset moved into the partition", riffle.Coordinates{Topic: "in", Partition: 11, Offset: 12, Key: "k"}, "g"},
		{"other group", base, "g2"},
		{"group that looks like a suffix", base, "g#"},
	}
	seen := map[string]string{}
	for _, v := range variants {
		k := v.c.IdempotencyKey(v.group)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s have the same key %q", prev, v.name, k)
		}
		seen[k] = v.name
	}
	other := base
	other.Key = "another key"
	if base.IdempotencyKey("g") != other.IdempotencyKey("g") {
		t.Errorf("the record key changed the idempotency key: %q != %q", base.IdempotencyKey("g"), other.IdempotencyKey("g"))
	}
}

// A remote service deduplicates by the key: a record delivered again after
// a crash makes the same call, and the service applies it once.
func ExampleCoordinates_IdempotencyKey() {
	charged := map[string]bool{} // the payment service's record of requests
	charge := func(idempotencyKey string) {
		if charged[idempotencyKey] {
			fmt.Println("already charged:", idempotencyKey)
			return
		}
		charged[idempotencyKey] = true
		fmt.Println("charged:", idempotencyKey)
	}

	rec := riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}
	charge(rec.IdempotencyKey("billing"))
	charge(rec.IdempotencyKey("billing")) // the same record, delivered again
	charge(rec.IdempotencyKey("audit"))   // another group reading the record
	// Output:
	// charged: orders/3@42#billing
	// already charged: orders/3@42#billing
	// charged: orders/3@42#audit
}
