package codec_test

import (
	"errors"
	"fmt"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/codec"
)

type Order struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
}

// A Codec[T] encodes and decodes typed values; Goka makes it a goka.Codec
// for a goka graph; a failure is a *codec.Error.
func Example() {
	orders := codec.JSON[Order]()

	data, _ := orders.Encode(Order{ID: "o-1", Amount: 42})
	fmt.Println(string(data))

	o, _ := orders.Decode(data)
	fmt.Printf("%+v\n", o)

	_, err := orders.Decode([]byte("not json"))
	var ce *codec.Error
	fmt.Println(errors.As(err, &ce), ce.Codec, ce.Op, ce.Type)

	graph := goka.DefineGroup("shop",
		goka.Input("orders", codec.Goka(orders), func(goka.Context, any) {}),
		goka.Persist(codec.Goka(codec.Int64())),
	)
	fmt.Println(graph.Validate())
	// Output:
	// {"id":"o-1","amount":42}
	// {ID:o-1 Amount:42}
	// true json decode codec_test.Order
	// <nil>
}
