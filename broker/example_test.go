package broker_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/broker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A goka processor counts clicks per user on an embedded cluster, fed by a
// franz-go producer.
func Example() {
	cluster, err := broker.Start(broker.WithSeedTopics("clicks"))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	settings := cluster.Settings()

	counter := goka.DefineGroup("click-counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	opts := append(settings.ProcessorOptions(), goka.WithStorageBuilder(storage.MemoryBuilder()))
	p, err := goka.NewProcessor(settings.Brokers, counter, opts...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			log.Fatal(err)
		}
	}()
	if err := p.WaitForReadyContext(ctx); err != nil {
		log.Fatal(err)
	}

	// KgoOptions partition by key as goka does, so each user's clicks reach
	// the partition that holds the user's count.
	client, err := kgo.NewClient(settings.KgoOptions()...)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	for _, user := range []string{"alice", "bob", "alice"} {
		r := &kgo.Record{Topic: "clicks", Key: []byte(user), Value: []byte("click")}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			log.Fatal(err)
		}
	}

	count := func(user string) int64 {
		v, err := p.Get(user)
		if err != nil || v == nil {
			return 0
		}
		return v.(int64)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for count("alice") < 2 || count("bob") < 1 {
		select {
		case <-tick.C:
		case <-deadline:
			log.Fatal("the clicks were not counted")
		}
	}
	fmt.Println("alice:", count("alice"))
	fmt.Println("bob:", count("bob"))
	// Output:
	// alice: 2
	// bob: 1
}
