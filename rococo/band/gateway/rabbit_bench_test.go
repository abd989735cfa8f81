package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band/gateway"
)

// BenchmarkRabbitGateway measures the gateway on the real broker, in one
// run (see README.md for the table and the command):
//
//   - throughput: hits/s through the gateway on a key with two enrichers
//     (agent.ua, geo.country) and one listener queue, 16 clients, counted
//     until the listener has received every event;
//   - latency: one client, alternating a hit with the two enrichers and a
//     hit on a key no enricher matches (the plain alternative); the enrich
//     overhead is the difference of their percentiles.
func BenchmarkRabbitGateway(b *testing.B) {
	r := newRabbit(b)
	p := buildPipeline(b, gateway.DefaultSettings(), r.bus)
	drain := func(n int) {
		deadline := time.After(60 * time.Second)
		for range n {
			select {
			case <-r.seen:
			case <-deadline:
				b.Fatalf("the listener did not receive every event")
			}
		}
	}
	warm := 50
	for range warm {
		hit(b, http.MethodGet, p.url+"/track/page?page=/w", "", "", nil)
	}
	drain(warm)

	b.Run("throughput", func(b *testing.B) {
		var next atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range 16 {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if a := hit(b, http.MethodGet, p.url+"/track/page?page=/t", "", "", map[string]string{"User-Agent": "Firefox/120"}); a.status != http.StatusOK {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		drain(b.N)
		d := time.Since(start)
		b.StopTimer()
		if failed.Load() > 0 {
			b.Fatalf("%d hits failed", failed.Load())
		}
		b.ReportMetric(float64(b.N)/d.Seconds(), "events/s")
	})

	b.Run("latency", func(b *testing.B) {
		enriched := make([]time.Duration, 0, b.N)
		plain := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			url := p.url + "/track/page?page=/l"
			if i%2 == 1 {
				url = p.url + "/bare/page?page=/l"
			}
			start := time.Now()
			if a := hit(b, http.MethodGet, url, "", "", map[string]string{"User-Agent": "Firefox/120"}); a.status != http.StatusOK {
				b.Fatalf("GET %s = %d", url, a.status)
			}
			if i%2 == 1 {
				plain = append(plain, time.Since(start))
			} else {
				enriched = append(enriched, time.Since(start))
			}
		}
		b.StopTimer()
		drain(b.N)
		if len(plain) < 2 {
			return
		}
		pct := func(ds []time.Duration, q float64) time.Duration {
			slices.Sort(ds)
			return ds[int(q*float64(len(ds)-1))]
		}
		ep50, ep99, pp50, pp99 := pct(enriched, .5), pct(enriched, .99), pct(plain, .5), pct(plain, .99)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(ep50), "enriched-p50-ms")
		b.ReportMetric(ms(ep99), "enriched-p99-ms")
		b.ReportMetric(ms(pp50), "plain-p50-ms")
		b.ReportMetric(ms(pp99), "plain-p99-ms")
		b.ReportMetric(ms(ep50-pp50), "overhead-p50-ms")
		b.ReportMetric(ms(ep99-pp99), "overhead-p99-ms")
		b.Log(fmt.Sprintf("enriched p50 %v p99 %v; plain p50 %v p99 %v", ep50, ep99, pp50, pp99))
	})
}
