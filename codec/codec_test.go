package codec_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/riffle-streams/riffle/codec"
)

type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

func roundTrip[T any](t *testing.T, c codec.Codec[T], v T) {
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
		t.Fatalf("round trip of %#v = %#v", v, got)
	}
}

// Every value comes back as it went in, nil and empty ones included: nil
// and empty slices stay apart.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"json struct", func(t *testing.T) { roundTrip(t, codec.JSON[order](), order{ID: "o-1", Amount: 42}) }},
		{"json zero struct", func(t *testing.T) { roundTrip(t, codec.JSON[order](), order{}) }},
		{"json map", func(t *testing.T) { roundTrip(t, codec.JSON[map[string]int](), map[string]int{"a": 1}) }},
		{"json nil map", func(t *testing.T) { roundTrip(t, codec.JSON[map[string]int](), nil) }},
		{"json nil pointer", func(t *testing.T) { roundTrip(t, codec.JSON[*order](), nil) }},
		{"string", func(t *testing.T) { roundTrip(t, codec.String(), "héllo") }},
		{"string empty", func(t *testing.T) { roundTrip(t, codec.String(), "") }},
		{"int64 min", func(t *testing.T) { roundTrip(t, codec.Int64(), int64(-9_223_372_036_854_775_808)) }},
		{"int64 zero", func(t *testing.T) { roundTrip(t, codec.Int64(), int64(0)) }},
		{"bytes", func(t *testing.T) { roundTrip(t, codec.Bytes(), []byte{0, 1, 2}) }},
		{"bytes empty", func(t *testing.T) { roundTrip(t, codec.Bytes(), []byte{}) }},
		{"bytes nil", func(t *testing.T) { roundTrip(t, codec.Bytes(), []byte(nil)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// Int64 writes decimal text, as goka's codec.Int64 and Redis's INCR do.
func TestInt64IsDecimal(t *testing.T) {
	data, err := codec.Int64().Encode(1234)
	if err != nil || string(data) != "1234" {
		t.Fatalf("Encode(1234) = %q, %v", data, err)
	}
}

// Bytes shares memory with neither side: the decoded value does not change
// with the buffer it was decoded from (goka's memory storage hands its own
// slice to the decoder), and the encoding does not change with the value
// (goka's storage and producer keep it after Encode returned).
func TestBytesCopies(t *testing.T) {
	buf := []byte("abc")
	got, _ := codec.Bytes().Decode(buf)
	buf[0] = 'X'
	if string(got) != "abc" {
		t.Fatalf("decoded value changed with the buffer: %q", got)
	}

	v := []byte("abc")
	data, _ := codec.Bytes().Encode(v)
	v[0] = 'X'
	if string(data) != "abc" {
		t.Fatalf("encoding changed with the value: %q", data)
	}
}

// A codec's failure is a *codec.Error that names the codec, the operation
// and the type, and wraps the cause.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		run   func() error
		codec string
		op    string
		typ   string
		cause any // pointer to the cause's type
	}{
		{"json decode", func() error { _, err := codec.JSON[order]().Decode([]byte("{")); return err },
			"json", "decode", "codec_test.order", new(*json.SyntaxError)},
		{"json decode nil", func() error { _, err := codec.JSON[order]().Decode(nil); return err },
			"json", "decode", "codec_test.order", new(*json.SyntaxError)},
		{"json decode type", func() error { _, err := codec.JSON[order]().Decode([]byte(`{"amount":"x"}`)); return err },
			"json", "decode", "codec_test.order", new(*json.UnmarshalTypeError)},
		{"json encode", func() error { _, err := codec.JSON[func()]().Encode(func() {}); return err },
			"json", "encode", "func()", new(*json.UnsupportedTypeError)},
		{"int64 decode", func() error { _, err := codec.Int64().Decode([]byte("12x")); return err },
			"int64", "decode", "int64", new(*strconv.NumError)},
		{"int64 decode empty", func() error { _, err := codec.Int64().Decode([]byte{}); return err },
			"int64", "decode", "int64", new(*strconv.NumError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var ce *codec.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *codec.Error", err)
			}
			if ce.Codec != tt.codec || ce.Op != tt.op || ce.Type != tt.typ {
				t.Fatalf("Error = %+v, want codec %s op %s type %s", ce, tt.codec, tt.op, tt.typ)
			}
			if !errors.As(err, tt.cause) {
				t.Fatalf("error %v does not wrap a %T", err, tt.cause)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := codec.Int64().Decode([]byte("x"))
	const want = `codec: int64 cannot decode int64: strconv.ParseInt: parsing "x": invalid syntax`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}
