package stores_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lovoo/goka"
	gokacodec "github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/stores"
)

// fakeGokaContext is the part of goka.Context a GokaTable uses, over a map
// of encoded values, with goka's semantics: the table is reached only for
// the record's key, through the table's goka codec.
type fakeGokaContext struct {
	gokaContext // nil: other methods panic
	key         string
	codec       goka.Codec
	table       map[string][]byte
	lookups     map[goka.Table]map[string]any
}

// gokaContext names the embedded interface so that its Context method is
// promoted.
type gokaContext = goka.Context

func newFakeGokaContext(key string) *fakeGokaContext {
	return &fakeGokaContext{key: key, codec: new(gokacodec.Bytes), table: map[string][]byte{}}
}

func (c *fakeGokaContext) Key() string { return c.key }

func (c *fakeGokaContext) Value() any {
	data, ok := c.table[c.key]
	if !ok {
		return nil
	}
	v, err := c.codec.Decode(data)
	if err != nil {
		panic(err) // goka's ctx.Fail
	}
	return v
}

func (c *fakeGokaContext) SetValue(v any, _ ...goka.ContextOption) {
	data, err := c.codec.Encode(v)
	if err != nil {
		panic(err)
	}
	c.table[c.key] = data
}

func (c *fakeGokaContext) Delete(_ ...goka.ContextOption) { delete(c.table, c.key) }

func (c *fakeGokaContext) Lookup(t goka.Table, key string) any { return c.lookups[t][key] }

// Only the record's key is reachable; others fail with ErrOtherKey and leave
// the table alone.
func TestGokaTableOtherKey(t *testing.T) {
	ctx := context.Background()
	gctx := newFakeGokaContext("mine")
	tbl := stores.FromGokaContext(gctx, codec.Int64())
	calls := []struct {
		op  string
		run func() error
	}{
		{"get", func() error { _, _, err := tbl.Get(ctx, "theirs"); return err }},
		{"put", func() error { return tbl.Put(ctx, "theirs", 1) }},
		{"delete", func() error { return tbl.Delete(ctx, "theirs") }},
	}
	for _, c := range calls {
		t.Run(c.op, func(t *testing.T) {
			err := c.run()
			if !errors.Is(err, stores.ErrOtherKey) {
				t.Fatalf("%s of another key: %v, want ErrOtherKey", c.op, err)
			}
			var kse *stores.KeyScopeError
			if !errors.As(err, &kse) || kse.Op != c.op || kse.Key != "theirs" || kse.RecordKey != "mine" {
				t.Fatalf("error %#v", err)
			}
			if len(gctx.table) != 0 {
				t.Fatalf("table changed: %v", gctx.table)
			}
		})
	}
}

// Values in the table decode through the codec whether goka's codec gives
// bytes (goka's codec.Bytes) or a V (codec.Goka); anything else is a
// *TypeError, and undecodable bytes a *codec.Error.
func TestGokaTableValues(t *testing.T) {
	tests := []struct {
		name      string
		codec     goka.Codec
		stored    []byte
		want      int64
		wantFound bool
		wantErr   any // pointer to the error type expected, or nil
	}{
		{"bytes table", new(gokacodec.Bytes), []byte("12"), 12, true, nil},
		{"typed table", codec.Goka(codec.Int64()), []byte("12"), 12, true, nil},
		{"missing", new(gokacodec.Bytes), nil, 0, false, nil},
		{"wrong goka codec", new(gokacodec.String), []byte("12"), 0, false, new(*stores.TypeError)},
		{"undecodable", new(gokacodec.Bytes), []byte("x"), 0, false, new(*codec.Error)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gctx := newFakeGokaContext("k")
			gctx.codec = tt.codec
			if tt.stored != nil {
				gctx.table["k"] = tt.stored
			}
			v, found, err := stores.FromGokaContext(gctx, codec.Int64()).Get(context.Background(), "k")
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("Get error %v, want a %T", err, tt.wantErr)
				}
				return
			}
			if err != nil || v != tt.want || found != tt.wantFound {
				t.Fatalf("Get = %d, %t, %v; want %d, %t", v, found, err, tt.want, tt.wantFound)
			}
		})
	}
}

func TestGokaLookupReadOnly(t *testing.T) {
	ctx := context.Background()
	gctx := newFakeGokaContext("k")
	gctx.lookups = map[goka.Table]map[string]any{"users": {"u1": []byte(`"alice"`), "u2": "bob"}}
	l := stores.LookupFromGokaContext(gctx, "users", codec.JSON[string]())
	for key, want := range map[string]string{"u1": "alice", "u2": "bob"} {
		if v, found, err := l.Get(ctx, key); err != nil || !found || v != want {
			t.Errorf("Get(%s) = %q, %t, %v; want %q", key, v, found, err, want)
		}
	}
	if _, found, err := l.Get(ctx, "u3"); err != nil || found {
		t.Errorf("Get(u3) found=%t err=%v, want absent", found, err)
	}
	if err := l.Put(ctx, "u1", "eve"); !errors.Is(err, stores.ErrReadOnly) {
		t.Errorf("Put: %v, want ErrReadOnly", err)
	}
	if err := l.Delete(ctx, "u1"); !errors.Is(err, stores.ErrReadOnly) {
		t.Errorf("Delete: %v, want ErrReadOnly", err)
	}
}

// The same KeyValue code runs in a real goka callback (goka's tester): a
// counter per key in the group table, declared with codec.Goka so that goka
// sees typed values too.
func TestGokaTableInProcessor(t *testing.T) {
	tt := tester.New(t)
	var cbErrs []error
	count := func(ctx goka.Context, _ any) {
		if err := increment(ctx.Context(), stores.FromGokaContext(ctx, codec.Int64()), ctx.Key()); err != nil {
			cbErrs = append(cbErrs, err)
		}
		// Reaching another key is refused, not silently wrong.
		if _, _, err := stores.FromGokaContext(ctx, codec.Int64()).Get(ctx.Context(), "other"+ctx.Key()); !errors.Is(err, stores.ErrOtherKey) {
			cbErrs = append(cbErrs, fmt.Errorf("Get of another key: %v", err))
		}
	}
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("counter",
		goka.Input("clicks", new(gokacodec.String), count),
		goka.Persist(codec.Goka(codec.Int64())),
	), goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	for _, k := range []string{"a", "b", "a", "a", "b", "c"} {
		tt.Consume("clicks", k, "click")
	}
	// The tester answers TableValue only while the processor runs.
	for k, want := range map[string]int64{"a": 3, "b": 2, "c": 1} {
		if got := tt.TableValue("counter-table", k); got != want {
			t.Errorf("table[%s] = %v (%T), want %d", k, got, got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("processor: %v", err)
	}
	if len(cbErrs) > 0 {
		t.Fatalf("callback errors: %v", cbErrs)
	}
}

// increment is code written against KeyValue, unaware of the backend.
func increment(ctx context.Context, kv stores.KeyValue[int64], key string) error {
	n, _, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	return kv.Put(ctx, key, n+1)
}
