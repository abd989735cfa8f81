package router_test

import (
	"context"
	"fmt"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
	"github.com/rococo-go/rococo/rococo/router"
)

// A router over the in-memory transport: a message that fails permanently
// goes to the dead-letter queue, the others are acked, and with
// ExitWhenFinished Run returns once the queue is empty.
func Example() {
	tr := rococotest.NewTransport()
	defer tr.Close()
	ctx := context.Background()
	for _, body := range []string{`{"to":"a@example.com"}`, `{"to":""}`, `{"to":"b@example.com"}`} {
		if err := tr.Publish(ctx, "emails", &rococo.Message{Body: []byte(body)}); err != nil {
			panic(err)
		}
	}
	proc := rococo.MessageProcessorFunc(func(_ context.Context, m *rococo.Message) error {
		var email struct{ To string }
		if err := m.Decode(&email); err != nil {
			return err
		}
		if email.To == "" {
			return rococo.Permanent(fmt.Errorf("no recipient"))
		}
		return nil
	})
	r, err := router.New(tr, proc, router.Config{Queue: "emails", Concurrency: 2, ExitWhenFinished: true})
	if err != nil {
		panic(err)
	}
	if err := r.Run(ctx); err != nil {
		panic(err)
	}
	fmt.Println("acked:", tr.Acked("emails"))
	for _, m := range tr.DeadLetters("emails") {
		fmt.Printf("dead letter %s: %s\n", m.Body, m.Header(rococo.HeaderError))
	}
	// Output:
	// acked: 2
	// dead letter {"to":""}: permanent: no recipient
}
