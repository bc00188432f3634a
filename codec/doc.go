// Package codec is riffle's one family of typed codecs: a Codec[T] turns
// values of T into bytes and back. Package dsl declares topics, tables and
// stores with them; package stores keeps the values of remote stores with
// them; Goka bridges a Codec[T] to goka.Codec for goka's graphs, emitters,
// views and tester, so that a topic, a table or a store's bytes read the
// same from every side.
//
// JSON, String, Int64 and Bytes are provided; any type with Encode and
// Decode methods of the right signatures is a Codec too. A failed Encode or
// Decode of the provided codecs returns an *Error.
//
// A value and its encoding never share memory: Encode returns bytes that
// belong to the caller, and Decode keeps nothing of the bytes it is given.
// Bytes, the one codec that could share them, copies (see Bytes for why).
//
// This package imports nothing of riffle's, so that every other package can
// import it. It has the name of goka's codec package: a file that needs both
// imports goka's under another name (riffle's files that need both call
// it gokacodec).
package codec
