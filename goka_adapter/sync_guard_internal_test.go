package gokaadapter

import (
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
)

// TestHasSyncCallbacks checks when NewProcessor keeps the sync-callback
// guard: whenever the count of wrapped callbacks does not prove that every
// callback-bearing edge has one.
func TestHasSyncCallbacks(t *testing.T) {
	noop := func(goka.Context, any) {}
	tests := []struct {
		name string
		// edges builds the graph's edges with a fresh adapter.
		edges func(a *Adapter) []goka.Edge
		want  bool
	}{
		{"one async input", func(a *Adapter) []goka.Edge {
			return []goka.Edge{goka.Input("in", new(codec.String), a.Async(noop))}
		}, false},
		{"async input and loop", func(a *Adapter) []goka.Edge {
			return []goka.Edge{
				a.Input("in", new(codec.String), noop),
				goka.Loop(new(codec.String), a.Async(noop)),
			}
		}, false},
		{"async and sync input", func(a *Adapter) []goka.Edge {
			return []goka.Edge{
				goka.Input("in", new(codec.String), a.Async(noop)),
				goka.Input("sync", new(codec.String), noop),
			}
		}, true},
		{"async input and sync loop", func(a *Adapter) []goka.Edge {
			return []goka.Edge{
				goka.Input("in", new(codec.String), a.Async(noop)),
				goka.Loop(new(codec.String), noop),
			}
		}, true},
		{"one wrapped callback on two edges", func(a *Adapter) []goka.Edge {
			cb := a.Async(noop)
			return []goka.Edge{
				goka.Input("in", new(codec.String), cb),
				goka.Input("other", new(codec.String), cb),
			}
		}, true},
		{"a wrapped callback left out", func(a *Adapter) []goka.Edge {
			_ = a.Async(noop)
			return []goka.Edge{goka.Input("in", new(codec.String), a.Async(noop))}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Adapter{}
			graph := goka.DefineGroup("group", tt.edges(a)...)
			if got := a.hasSyncCallbacks(graph); got != tt.want {
				t.Errorf("hasSyncCallbacks = %v, want %v", got, tt.want)
			}
		})
	}
}
