package codec_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/codec"
)

func TestGoka(t *testing.T) {
	c := codec.Goka(codec.JSON[order]())
	data, err := c.Encode(order{ID: "a", Amount: 1})
	if err != nil || string(data) != `{"id":"a","amount":1}` {
		t.Fatalf("Encode(order) = %s, %v", data, err)
	}
	// Bytes already encoded pass through: that is what GokaTable.Put hands
	// goka.
	if data, err := c.Encode([]byte(`{"id":"b"}`)); err != nil || string(data) != `{"id":"b"}` {
		t.Fatalf("Encode(bytes) = %s, %v", data, err)
	}
	var ce *codec.Error
	if _, err := c.Encode(42); !errors.As(err, &ce) || ce.Codec != "goka" || ce.Op != "encode" || ce.Type != "codec_test.order" {
		t.Fatalf("Encode(42): %v, want a *codec.Error of goka encode codec_test.order", err)
	}
	v, err := c.Decode([]byte(`{"id":"c","amount":3}`))
	if err != nil || v != (order{ID: "c", Amount: 3}) {
		t.Fatalf("Decode = %#v, %v", v, err)
	}
	// The codec's own errors come through as they are.
	if v, err := c.Decode([]byte("{")); !errors.As(err, &ce) || ce.Codec != "json" || v != nil {
		t.Fatalf("Decode({) = %#v, %v; want nil and the json codec's *codec.Error", v, err)
	}
}

// A Codec[[]byte] takes its values as values: Encode copies them.
func TestGokaBytes(t *testing.T) {
	c := codec.Goka(codec.Bytes())
	v := []byte("abc")
	data, err := c.Encode(v)
	v[0] = 'X'
	if err != nil || string(data) != "abc" {
		t.Fatalf("Encode = %q, %v; want a copy of abc", data, err)
	}
	got, err := c.Decode([]byte("abc"))
	if b, ok := got.([]byte); err != nil || !ok || string(b) != "abc" {
		t.Fatalf("Decode = %#v, %v", got, err)
	}
}

func TestGokaNil(t *testing.T) {
	if c := codec.Goka[order](nil); c != nil {
		t.Fatalf("Goka(nil) = %#v, want nil", c)
	}
}

// marking wraps a goka.Codec, so that a test can see it was used: it
// prefixes what it encodes with "<" and puts what it decodes in a []any.
type marking struct{ inner goka.Codec }

func (m marking) Encode(v any) ([]byte, error) {
	b, err := m.inner.Encode(v)
	return append([]byte("<"), b...), err
}

func (m marking) Decode(b []byte) (any, error) {
	v, err := m.inner.Decode(b)
	return []any{v}, err
}

func wrapMarking(c goka.Codec) goka.Codec { return marking{inner: c} }

// WrapGoka keeps the Go type of a Goka codec and goes through the wrapper;
// wrapping twice composes; other codecs are simply wrapped.
func TestWrapGoka(t *testing.T) {
	plain := codec.Goka(codec.String())
	w := codec.WrapGoka(plain, wrapMarking)
	if reflect.TypeOf(w) != reflect.TypeOf(plain) {
		t.Fatalf("WrapGoka changed the type: %T, want %T", w, plain)
	}
	if data, err := w.Encode("a"); err != nil || string(data) != "<a" {
		t.Fatalf("wrapped Encode = %q, %v", data, err)
	}
	if v, err := w.Decode([]byte("a")); err != nil || !reflect.DeepEqual(v, []any{"a"}) {
		t.Fatalf("wrapped Decode = %#v, %v", v, err)
	}
	if data, err := plain.Encode("a"); err != nil || string(data) != "a" {
		t.Fatalf("plain Encode after WrapGoka = %q, %v", data, err)
	}

	ww := codec.WrapGoka(w, wrapMarking)
	if data, err := ww.Encode("a"); err != nil || string(data) != "<<a" {
		t.Fatalf("twice wrapped Encode = %q, %v", data, err)
	}

	other := codec.WrapGoka(marking{inner: plain}, wrapMarking)
	if _, ok := other.(marking); !ok {
		t.Fatalf("WrapGoka of another codec = %T, want the wrapper", other)
	}
}

// goka's tester accepts a topic whose writer has the plain codec and whose
// reader has it wrapped: that is what WrapGoka is for (a wrapper of another
// Go type makes the tester panic with "different codecs for the same
// topic").
func TestWrapGokaInTester(t *testing.T) {
	tt := tester.New(t)
	c := codec.Goka(codec.String())
	writer := goka.DefineGroup("writer",
		goka.Input("in", c, func(ctx goka.Context, msg any) { ctx.Emit("mid", ctx.Key(), msg) }),
		goka.Output("mid", c),
	)
	got := make(chan any, 1)
	reader := goka.DefineGroup("reader",
		goka.Input("mid", codec.WrapGoka(c, wrapMarking), func(_ goka.Context, msg any) { got <- msg }),
	)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for _, g := range []*goka.GroupGraph{writer, reader} {
		p, err := goka.NewProcessor(nil, g, goka.WithTester(tt))
		if err != nil {
			t.Fatalf("NewProcessor(%s): %v", g.Group(), err)
		}
		go func() { errs <- p.Run(ctx) }()
	}
	defer func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}()

	tt.Consume("in", "k", "v")
	select {
	case msg := <-got:
		if !reflect.DeepEqual(msg, []any{"v"}) {
			t.Fatalf("reader got %#v, want the wrapper's []any{\"v\"}", msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("reader got nothing within 30 s")
	}
}
