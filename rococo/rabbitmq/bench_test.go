package rabbitmq

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/router"
)

// benchBody is a 200-byte JSON body.
var benchBody = []byte(`{"pad":"` + strings.Repeat("x", 200-len(`{"pad":""}`)) + `"}`)

// BenchmarkConsumeAck compares the runtime (router + this transport, no-op
// processor) with a plain amqp091-go consume+ack loop, same prefetch, on
// persistent 200-byte messages prefilled outside the timer. Run it with a
// fixed count, for example:
//
//	go test -run '^$' -bench ConsumeAck -benchtime 20000x ./rococo/rabbitmq
func BenchmarkConsumeAck(b *testing.B) {
	for _, conc := range []int{1, 16} {
		b.Run(fmt.Sprintf("plain/concurrency=%d", conc), func(b *testing.B) { benchPlain(b, conc) })
		b.Run(fmt.Sprintf("runtime/concurrency=%d", conc), func(b *testing.B) { benchRuntime(b, conc) })
	}
}

// prefill publishes n persistent messages to a fresh queue with
// asynchronous confirms, outside the timer.
func prefill(b *testing.B, n int) string {
	b.Helper()
	b.StopTimer()
	q := queueName(b)
	a := newAdmin(b)
	ch := a.channel()
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const window = 1000
	pending := make([]*amqp.DeferredConfirmation, 0, window)
	flush := func() {
		for _, dc := range pending {
			if !dc.Wait() {
				b.Fatal("prefill publish nacked")
			}
		}
		pending = pending[:0]
	}
	for range n {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, amqp.Publishing{
			ContentType: ContentType, DeliveryMode: amqp.Persistent, Body: benchBody,
		})
		if err != nil {
			b.Fatal(err)
		}
		if pending = append(pending, dc); len(pending) == window {
			flush()
		}
	}
	flush()
	return q
}

func benchPlain(b *testing.B, conc int) {
	q := prefill(b, b.N)
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := ch.Qos(conc, 0, false); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	b.StartTimer()
	dels, err := ch.Consume(q, "bench-plain", false, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for d := range dels {
				if err := d.Ack(false); err != nil {
					b.Error(err)
					return
				}
				if n.Add(1) == int64(b.N) {
					close(done)
				}
			}
		})
	}
	waitBench(b, done)
	b.StopTimer()
	_ = ch.Cancel("bench-plain", false)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchRuntime(b *testing.B, conc int) {
	q := prefill(b, b.N)
	tr := newTransport(b, testConfig())
	var n atomic.Int64
	done := make(chan struct{})
	proc := rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error {
		if n.Add(1) == int64(b.N) {
			close(done)
		}
		return nil
	})
	r, err := router.New(tr, proc, router.Config{Queue: q, Concurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Connect before the timer, as the plain loop does.
	for _, l := range []*link{tr.consumeLink, tr.publishLink} {
		if _, _, err := l.connection(ctx); err != nil {
			b.Fatal(err)
		}
	}
	runErr := make(chan error, 1)
	b.StartTimer()
	go func() { runErr <- r.Run(ctx) }()
	waitBench(b, done)
	b.StopTimer()
	cancel()
	if err := <-runErr; err != nil {
		b.Errorf("Run() = %v", err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func waitBench(b *testing.B, done <-chan struct{}) {
	b.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatal("benchmark did not finish within 10 minutes")
	}
}
