package codec

import "fmt"

// Error is a value that a Codec could not encode, or bytes that it could
// not decode. Err is the cause (a *json.SyntaxError, a *strconv.NumError,
// ...).
type Error struct {
	Codec string // the codec's name: "json", "int64", "goka"
	Op    string // "encode" or "decode"
	Type  string // the Go type of the codec's values, e.g. "main.Order"
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("codec: %s cannot %s %s: %v", e.Codec, e.Op, e.Type, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
