package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/router"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// benchBody is a typical small JSON message (about 200 bytes).
var benchBody = `{"report_id":"r-000001","title":"Daily sales","rows":[{"label":"eu","value":12.5},{"label":"us","value":40.25},{"label":"apac","value":7}],"requested_by":"scheduler","tz":"UTC"}`

// prefill publishes n messages to a fresh queue, outside the timer, and
// returns its name.
func prefill(b *testing.B, tr *Transport, n int) string {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	q := transporttest.QueueName(b)
	msgs := make([]*rococo.Message, n)
	for i := range msgs {
		msgs[i] = &rococo.Message{Body: []byte(benchBody)}
	}
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), 1000)]
		if err := tr.Publish(context.Background(), q, chunk...); err != nil {
			b.Fatal(err)
		}
		msgs = msgs[len(chunk):]
	}
	// Create the dead-letter queue too, as Consume would, so both sides
	// start from the same state.
	if _, err := tr.queueURL(context.Background(), rococo.DeadLetterQueue(q)); err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkConsume compares, on the same server and in one run, the runtime
// (router + this transport, a processor that does nothing) with a plain
// aws-sdk-go-v2 loop doing the same work the cheapest way a hand-written
// consumer would: conc goroutines, each receiving batches of 10 (whatever
// conc is), checking each body is JSON, and deleting each batch with one
// DeleteMessageBatch. Each iteration moves b.N messages through the plain
// loop, then b.N other messages through the runtime, each from its own
// prefilled queue (filled outside the timer), so a pair is measured under
// the same machine load. Both halves are timed until every message is
// deleted: the plain loop deletes synchronously, the runtime's time
// includes Close, which sends the deletes still pending when Run returns.
// It reports both rates, runtime/plain, and the SQS requests per message of
// each side (counted by an HTTP round-tripper under each side's client).
// The halves carry the pprof label side=plain or side=runtime.
//
// Run it once with a fixed message count:
//
//	go test -run '^$' -bench Consume -benchtime 10000x -count 1 ./rococo/sqs
func BenchmarkConsume(b *testing.B) {
	testEndpoint(b)
	for _, conc := range []int{1, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			plainTr, runtimeTr := newTestTransport(b), newTestTransport(b)
			qPlain := prefill(b, plainTr, b.N)
			qRuntime := prefill(b, runtimeTr, b.N)
			plainReqs, runtimeReqs := countRequests(plainTr), countRequests(runtimeTr)
			var plain, runtime time.Duration
			pprof.Do(context.Background(), pprof.Labels("side", "plain"), func(context.Context) {
				plain = benchPlain(b, plainTr, qPlain, conc)
			})
			pprof.Do(context.Background(), pprof.Labels("side", "runtime"), func(context.Context) {
				runtime = benchRuntime(b, runtimeTr, qRuntime, conc)
			})
			b.ReportMetric(float64(b.N)/plain.Seconds(), "plain-msgs/s")
			b.ReportMetric(float64(b.N)/runtime.Seconds(), "runtime-msgs/s")
			b.ReportMetric(plain.Seconds()/runtime.Seconds(), "runtime/plain")
			b.ReportMetric(float64(plainReqs.Load())/float64(b.N), "plain-reqs/msg")
			b.ReportMetric(float64(runtimeReqs.Load())/float64(b.N), "runtime-reqs/msg")
		})
	}
}

// countRequests makes tr's client count the HTTP requests it sends from
// now on, in the returned counter.
func countRequests(tr *Transport) *atomic.Int64 {
	n := new(atomic.Int64)
	tr.client = awssqs.New(tr.client.Options(), func(o *awssqs.Options) {
		o.HTTPClient = countingClient{base: o.HTTPClient, n: n}
	})
	return n
}

// countingClient counts the requests it sends.
type countingClient struct {
	base awssqs.HTTPClient
	n    *atomic.Int64
}

func (c countingClient) Do(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.Do(req)
}

// benchRuntime consumes b.N messages of q with a router and returns the
// time it took.
func benchRuntime(b *testing.B, tr *Transport, q string, conc int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int64
	n := int64(b.N)
	proc := rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error {
		if done.Add(1) == n {
			cancel() // stop intake; Run returns once every delivery is settled
		}
		return nil
	})
	r, err := router.New(tr, proc, router.Config{
		Queue: q, Concurrency: conc,
		Logger:  slog.New(slog.DiscardHandler),
		Metrics: metrics.New(prometheus.NewRegistry()),
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := r.Run(ctx); err != nil {
		b.Fatal(err)
	}
	// Run returns once every delivery is settled, but acks are deleted in
	// the background: the time runs until the deletes still pending are
	// sent, so it covers every message deleted, as the plain loop's does.
	// Close (untimed) then lets the long polls in flight end.
	tr.mu.Lock()
	consumers := make([]*consumer, 0, len(tr.consumers))
	for c := range tr.consumers {
		consumers = append(consumers, c)
	}
	tr.mu.Unlock()
	for _, c := range consumers {
		c.del.drain(context.Background())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	tr.Close()
	b.StartTimer()
	if got := done.Load(); got < n {
		b.Fatalf("runtime processed %d of %d", got, n)
	}
	return elapsed
}

// benchPlain consumes b.N messages of q with conc plain SDK loops and returns
// the time it took.
func benchPlain(b *testing.B, tr *Transport, q string, conc int) time.Duration {
	url, err := tr.queueURL(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	client := tr.client
	const batch = maxBatch
	var done atomic.Int64
	n := int64(b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
					QueueUrl: aws.String(url), MaxNumberOfMessages: batch, WaitTimeSeconds: 1,
					MessageAttributeNames:       []string{"All"},
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
				})
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
						cancel()
					}
					return
				}
				if len(out.Messages) == 0 {
					continue
				}
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for i, m := range out.Messages {
					if !json.Valid([]byte(aws.ToString(m.Body))) {
						errs <- fmt.Errorf("invalid JSON %q", aws.ToString(m.Body))
						cancel()
						return
					}
					entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
				}
				// Delete with a ctx of its own: the last batch must be
				// deleted even after another worker reached n.
				if _, err := client.DeleteMessageBatch(context.Background(), &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
					errs <- err
					cancel()
					return
				}
				if done.Add(int64(len(out.Messages))) >= n {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if got := done.Load(); got < n {
		b.Fatalf("plain loop processed %d of %d", got, n)
	}
	return elapsed
}
