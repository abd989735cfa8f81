package band_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
// `clients` goroutines, to the band handler and to the plain one, and
// reports throughput and latency percentiles:
//
//	go test -run '^$' -bench HTTP -benchtime 20000x -count 3 ./rococo/band/
func BenchmarkHTTP(b *testing.B) {
	for _, clients := range []int{1, 64} {
		for _, srv := range []struct {
			name    string
			handler func(*testing.B) http.Handler
		}{{"band", bandServer}, {"plain", plainServer}} {
			b.Run(fmt.Sprintf("%s/clients=%d", srv.name, clients), func(b *testing.B) {
				benchHTTP(b, srv.handler(b), clients)
			})
		}
	}
}

func benchHTTP(b *testing.B, h http.Handler, clients int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/work"
	do := func() error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(workBody))
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
	for range clients { // warm the connections
		if err := do(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := do(); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
