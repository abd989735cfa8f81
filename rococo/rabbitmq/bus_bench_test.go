package rabbitmq

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/bus"
)

// BenchmarkBusPublish compares Bus.Publish (persistent event, publisher
// confirm awaited) with a plain amqp091-go loop publishing the same JSON body
// to the same topic exchange and waiting for each confirmation, one
// publisher and 16 concurrent ones (sharing one channel in both cases), to
// one bound durable queue. Run it with a fixed count, for example:
//
//	go test -run '^$' -bench BusPublish -benchtime 5000x ./rococo/rabbitmq
func BenchmarkBusPublish(b *testing.B) {
	ev := bus.Event{ID: "0123456789abcdef", Key: "in.gen.track.hit", Time: time.Now().UTC(), Service: "track", Name: "hit",
		TD: bus.TD{IP: "203.0.113.7", UA: "Mozilla/5.0 (X11; Linux x86_64)", Ref: "https://example.com/", Host: "example.com"}, Data: map[string]any{"page": "/index"}}
	body, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	for _, conc := range []int{1, 16} {
		b.Run(fmt.Sprintf("plain/publishers=%d", conc), func(b *testing.B) {
			e := newBusEnv(b, BusOptions{})
			e.bindSink(b)
			ch, err := e.conn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			if err := ch.Confirm(false); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			publish := func() {
				dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, e.opts.EventsExchange, ev.Key, false, false, amqp.Publishing{
					ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: ev.ID, Timestamp: ev.Time, Body: body,
				})
				if err != nil || !dc.Wait() {
					b.Error("plain publish failed", err)
				}
			}
			runPublishers(b, conc, publish)
		})
		b.Run(fmt.Sprintf("bus/publishers=%d", conc), func(b *testing.B) {
			e := newBusEnv(b, BusOptions{})
			e.bindSink(b)
			ctx := context.Background()
			runPublishers(b, conc, func() {
				if err := e.bus.Publish(ctx, ev); err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// bindSink binds a durable queue to every key, so that the events are
// stored (an unroutable message is confirmed without being written).
func (e *busEnv) bindSink(b *testing.B) {
	b.Helper()
	q := e.queue("sink")
	if err := e.bus.Bind(context.Background(), q, []bus.Pattern{mustPattern(b, "#")}); err != nil {
		b.Fatal(err)
	}
}

// runPublishers runs b.N publishes spread over conc goroutines and reports
// the rate.
func runPublishers(b *testing.B, conc int, publish func()) {
	publish() // connect and declare outside the timer
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range conc {
		n := b.N / conc
		if w < b.N%conc {
			n++
		}
		wg.Go(func() {
			for range n {
				publish()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
