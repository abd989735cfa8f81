package band_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/config"
)

// The JSON work both servers do: decode a 5-field object, answer another.
type workIn struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Ratio float64  `json:"ratio"`
	Flag  bool     `json:"flag"`
	Tags  []string `json:"tags"`
}

type workOut struct {
	Greeting string  `json:"greeting"`
	Total    float64 `json:"total"`
	Tags     int     `json:"tags"`
}

func work(in workIn) workOut {
	total := float64(in.Count) * in.Ratio
	if in.Flag {
		total++
	}
	return workOut{Greeting: "hello " + in.Name, Total: total, Tags: len(in.Tags)}
}

var workBody = []byte(`{"name":"ann","count":3,"ratio":0.5,"flag":true,"tags":["a","b"]}`)

// bandServer serves work as a band handler, with the runtime's metrics on a
// registry, as the host serves it.
func bandServer(b *testing.B) http.Handler {
	s := band.New()
	band.Handle(s, "POST /work", func(_ context.Context, in workIn) (workOut, error) { return work(in), nil })
	if _, err := s.Configure("bench", b.TempDir(), config.Env{}); err != nil {
		b.Fatal(err)
	}
	r, err := s.Runner(band.Runtime{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	r.Start(context.Background())
	b.Cleanup(func() { r.Shutdown(context.Background()) })
	return r.Handler(http.NotFoundHandler())
}

// plainServer is the same work in plain net/http.
func plainServer(*testing.B) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		var in workIn
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(work(in))
	})
	return mux
}

// BenchmarkHTTP sends b.N POST /work requests over loopback HTTP from
// `clients` goroutines to the band handler and b.N to the plain one,
// alternating between the two servers in rounds of 500 requests (each
// going first in every other round) so that both see the same machine (the
// load of a shared machine drifts), and
// reports each one's throughput and latency percentiles and their ratios:
//
//	go test -run '^$' -bench HTTP -benchtime 20000x -count 3 ./rococo/band/
func BenchmarkHTTP(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			band := newLoad(b, bandServer(b), clients)
			plain := newLoad(b, plainServer(b), clients)
			const round = 500
			b.ResetTimer()
			for done, i := 0, 0; done < b.N; done, i = done+round, i+1 {
				n := min(round, b.N-done)
				first, second := band, plain
				if i%2 == 1 { // neither pays the other's garbage collection all the time
					first, second = plain, band
				}
				first.run(b, n)
				second.run(b, n)
			}
			b.StopTimer()
			bs, ps := band.stats(), plain.stats()
			b.ReportMetric(bs.rps, "band-req/s")
			b.ReportMetric(ps.rps, "plain-req/s")
			b.ReportMetric(bs.rps/ps.rps, "throughput-ratio")
			b.ReportMetric(float64(bs.p50.Microseconds()), "band-p50-µs")
			b.ReportMetric(float64(ps.p50.Microseconds()), "plain-p50-µs")
			b.ReportMetric(float64(bs.p99.Microseconds()), "band-p99-µs")
			b.ReportMetric(float64(ps.p99.Microseconds()), "plain-p99-µs")
			b.ReportMetric(float64(bs.p99)/float64(ps.p99), "p99-ratio")
		})
	}
}

// load sends requests to one server from a fixed number of clients.
type load struct {
	url     string
	client  *http.Client
	clients int
	lat     []time.Duration
	elapsed time.Duration
}

func newLoad(b *testing.B, h http.Handler, clients int) *load {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	l := &load{url: "http://" + ln.Addr().String() + "/work", client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, clients: clients}
	for range clients { // open the connections
		if err := l.do(); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

func (l *load) do() error {
	resp, err := l.client.Post(l.url, "application/json", bytes.NewReader(workBody))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// run sends n requests and records their latencies.
func (l *load) run(b *testing.B, n int) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := l.do(); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	l.elapsed += time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	l.lat = append(l.lat, lat...)
}

type loadStats struct {
	rps      float64
	p50, p99 time.Duration
}

func (l *load) stats() loadStats {
	slices.Sort(l.lat)
	return loadStats{
		rps: float64(len(l.lat)) / l.elapsed.Seconds(),
		p50: l.lat[len(l.lat)/2],
		p99: l.lat[len(l.lat)*99/100],
	}
}

// BenchmarkServe serves the same request to both handlers in-process (an
// httptest recorder, no network): the cost of the runtime on the server
// side alone.
//
//	go test -run '^$' -bench Serve -benchmem -count 5 ./rococo/band/
func BenchmarkServe(b *testing.B) {
	for _, srv := range []struct {
		name    string
		handler func(*testing.B) http.Handler
	}{{"band", bandServer}, {"plain", plainServer}} {
		b.Run(srv.name, func(b *testing.B) {
			h := srv.handler(b)
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/work", bytes.NewReader(workBody))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
