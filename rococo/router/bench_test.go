package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

var benchBody = []byte(`{"to":"user@example.com","subject":"hello","template":"welcome","vars":{"name":"Ada"}}`)

// fill publishes n messages outside the timer.
func fill(b *testing.B, tr *rococotest.Transport, n int) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	msgs := make([]*rococo.Message, n)
	for i := range msgs {
		msgs[i] = &rococo.Message{Body: benchBody}
	}
	if err := tr.Publish(context.Background(), "bench", msgs...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRouter measures the whole loop per message over the in-memory
// transport: receive, JSON check, middleware chain (report, Recover), a
// processor that does nothing, metrics, Ack.
func BenchmarkRouter(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			tr := rococotest.NewTransport()
			defer tr.Close()
			fill(b, tr, b.N)
			r, err := New(tr, rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error { return nil }), Config{
				Queue: "bench", Concurrency: conc, ExitWhenFinished: true,
				Logger:  slog.New(slog.DiscardHandler),
				Metrics: metrics.New(prometheus.NewRegistry()),
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			if err := r.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if got := tr.Acked("bench"); got != b.N {
				b.Fatalf("acked %d of %d", got, b.N)
			}
		})
	}
}

// BenchmarkBareLoop is the floor: the same transport and concurrency, each
// worker only receiving and acking. BenchmarkRouter minus this is the
// router's own overhead.
func BenchmarkBareLoop(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			tr := rococotest.NewTransport()
			defer tr.Close()
			fill(b, tr, b.N)
			b.ReportAllocs()
			start := time.Now()
			ctx := context.Background()
			ch, err := tr.Consume(ctx, "bench", rococo.ConsumeOptions{Prefetch: conc, ExitWhenFinished: true})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for d := range ch {
						if err := d.Ack(ctx); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if got := tr.Acked("bench"); got != b.N {
				b.Fatalf("acked %d of %d", got, b.N)
			}
		})
	}
}

// BenchmarkHandle measures the router's per-message work alone, without a
// transport: a pre-built delivery is handled in a loop.
func BenchmarkHandle(b *testing.B) {
	r, err := New(rococotest.NewTransport(), rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error { return nil }), Config{
		Queue: "bench", Logger: slog.New(slog.DiscardHandler), Metrics: metrics.New(prometheus.NewRegistry()),
	})
	if err != nil {
		b.Fatal(err)
	}
	d := nopDelivery{&rococo.Message{ID: "m-1", Body: benchBody, Attempt: 1, Queue: "bench"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.handle(ctx, ctx, d)
	}
}

type nopDelivery struct{ m *rococo.Message }

func (d nopDelivery) Message() *rococo.Message                        { return d.m }
func (nopDelivery) Ack(context.Context) error                         { return nil }
func (nopDelivery) Retry(context.Context, time.Duration, error) error { return nil }
func (nopDelivery) Release(context.Context, time.Duration) error      { return nil }
func (nopDelivery) DeadLetter(context.Context, error) error           { return nil }
