package stores_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/riffle-streams/riffle/stores"
)

type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

func roundTrip[V any](t *testing.T, c stores.Codec[V], v V) {
	t.Helper()
	data, err := c.Encode(v)
	if err != nil {
		t.Fatalf("Encode(%v): %v", v, err)
	}
	got, err := c.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%q): %v", data, err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("round trip of %v = %v", v, got)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"json struct", func(t *testing.T) { roundTrip(t, stores.JSON[order](), order{ID: "o-1", Amount: 42}) }},
		{"json map", func(t *testing.T) { roundTrip(t, stores.JSON[map[string]int](), map[string]int{"a": 1}) }},
		{"string", func(t *testing.T) { roundTrip(t, stores.String(), "héllo") }},
		{"string empty", func(t *testing.T) { roundTrip(t, stores.String(), "") }},
		{"int64", func(t *testing.T) { roundTrip(t, stores.Int64(), int64(-9_223_372_036_854_775_808)) }},
		{"bytes", func(t *testing.T) { roundTrip(t, stores.Bytes(), []byte{0, 1, 2}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// Int64 writes decimal text, as goka's codec.Int64 and Redis's INCR do.
func TestInt64IsDecimal(t *testing.T) {
	data, err := stores.Int64().Encode(1234)
	if err != nil || string(data) != "1234" {
		t.Fatalf("Encode(1234) = %q, %v", data, err)
	}
}

// Bytes.Decode copies: the caller may reuse its buffer.
func TestBytesDecodeCopies(t *testing.T) {
	buf := []byte("abc")
	got, _ := stores.Bytes().Decode(buf)
	buf[0] = 'X'
	if string(got) != "abc" {
		t.Fatalf("decoded value changed with the buffer: %q", got)
	}
}

func TestCodecErrors(t *testing.T) {
	tests := []struct {
		name  string
		run   func() error
		codec string
		op    string
	}{
		{"json decode", func() error { _, err := stores.JSON[order]().Decode([]byte("{")); return err }, "json", "decode"},
		{"json encode", func() error { _, err := stores.JSON[func()]().Encode(func() {}); return err }, "json", "encode"},
		{"int64 decode", func() error { _, err := stores.Int64().Decode([]byte("12x")); return err }, "int64", "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var ce *stores.CodecError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CodecError", err)
			}
			if ce.Codec != tt.codec || ce.Op != tt.op || ce.Err == nil {
				t.Fatalf("CodecError = %+v, want codec %s op %s with a cause", ce, tt.codec, tt.op)
			}
		})
	}
}
