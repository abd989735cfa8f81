package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// These tests run the pipeline as a user does: the front, useragent_band
// and events_band binaries (built with the go tool) on the real RabbitMQ
// at 127.0.0.1:5672, on exchanges and queues of the test's own, deleted at
// its end. They skip under bazel test and without a broker (and fail
// without one when CI=true).

const brokerAddr = "127.0.0.1:5672"

type pipeline struct {
	t    *testing.T
	id   string // unique: the exchanges' prefix and the services' names
	bins map[string]string
	env  []string
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	rococotest.RequireBroker(t, brokerAddr)
	id := fmt.Sprintf("pipe%d", time.Now().UnixNano())
	p := &pipeline{t: t, id: id, bins: map[string]string{}}
	for _, s := range []string{"front", "useragent_band", "events_band"} {
		p.bins[s] = rococotest.BuildService(t, "./services/"+s)
	}
	p.env = []string{
		"EXECUTION_TYPE=BAND", "MESSAGING_TYPE=RabbitMqConnection", "RABBITMQ_HOST=127.0.0.1",
		"HEALTH_ADDR=127.0.0.1:0", "SHUTDOWN_TIMEOUT=10s", "LOG_LEVEL=INFO",
		"BAND_EVENTS_EXCHANGE=" + id + ".events", "BAND_REGISTRY_EXCHANGE=" + id + ".registry",
		"BAND_ANNOUNCE_PERIOD=200ms",
	}
	t.Cleanup(func() { p.deleteBrokerObjects() })
	return p
}

// name is the service's name in this test (its queues are named after it).
func (p *pipeline) name(service string) string { return p.id + "_" + service }

func (p *pipeline) deleteBrokerObjects() {
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	if err != nil {
		return
	}
	defer conn.Close()
	for _, q := range []string{"", rococo.DeadLetterSuffix} {
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(p.name("events_band")+".write"+q, false, false, false)
			_ = ch.Close()
		}
	}
	for _, x := range []string{".events", ".registry"} {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(p.id+x, false, false)
			_ = ch.Close()
		}
	}
}

type proc struct {
	p   *rococotest.Process
	url string
	dir string
}

var addrRE = regexp.MustCompile(`health server listening"? addr=([0-9.:]+)`)

// start runs service in dir (a new one when ""), with its config.yaml and
// its name made unique, and waits until it is ready.
func (p *pipeline) start(service, dir string, env ...string) *proc {
	p.t.Helper()
	if dir == "" {
		dir = p.t.TempDir()
	}
	src := filepath.Join("..", service, "config.yaml")
	b, err := os.ReadFile(src)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), b, 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "custom.yaml"), []byte("name: "+p.name(service)+"\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	pr := &proc{p: rococotest.StartProcess(p.t, p.bins[service], dir, append(append([]string{}, p.env...), env...)), dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := addrRE.FindStringSubmatch(pr.p.Output()); m != nil && pr.url == "" {
			pr.url = "http://" + m[1]
		}
		if pr.url != "" {
			if resp, err := http.Get(pr.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return pr
				}
			}
		}
		if time.Now().After(deadline) || pr.p.Err() != nil {
			p.t.Fatalf("%s did not turn ready:\n%s", service, pr.p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (pr *proc) stop(t *testing.T) {
	t.Helper()
	pr.p.Signal(syscall.SIGTERM)
	if code := pr.p.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, pr.p.Output())
	}
}

var client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func get(t testing.TB, url, ua string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("User-Agent", ua)
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type") + " " + string(b)
}

func getQuiet(url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// routable waits until url answers 200 (the services announced).
func routable(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := getQuiet(url); code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type event struct {
	ID     string            `json:"id"`
	Key    string            `json:"key"`
	Data   map[string]any    `json:"data"`
	Enrich map[string]string `json:"enrich"`
}

// events reads the complete lines of the events file; a last line without
// its newline is still being written by the listener and is left for the
// next read.
func events(t *testing.T, path string) []event {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for len(b) > 0 {
		line, rest, complete := bytes.Cut(b, []byte("\n"))
		if !complete {
			break
		}
		b = rest
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("events file line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func waitEvents(t *testing.T, path string, n int, d time.Duration) []event {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		evs := events(t, path)
		if len(evs) >= n || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPipeline(t *testing.T) {
	p := newPipeline(t)
	evDir := t.TempDir()
	p.start("events_band", evDir)
	p.start("useragent_band", "")
	front := p.start("front", "")
	routable(t, front.url+"/"+p.name("front")+"/pixel?probe=1")

	code, body := get(t, front.url+"/"+p.name("front")+"/pixel?page=/home", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	if code != 200 || !strings.HasPrefix(body, "image/gif GIF89a") {
		t.Fatalf("GET pixel = %d %.20q, want the GIF", code, body)
	}
	if code, _ := get(t, front.url+"/nobody/pixel", "x"); code != 404 {
		t.Errorf("GET /nobody/pixel = %d, want 404", code)
	}
	evs := waitEvents(t, filepath.Join(evDir, "events.jsonl"), 2, 10*time.Second)
	var found bool
	for _, e := range evs {
		if e.Data["page"] == "/home" {
			found = true
			ua, _ := e.Data["ua"].(map[string]any)
			if e.Key != "in.gen."+p.name("front")+".pixel" || ua["browser"] != "Firefox" || ua["os"] != "Linux" || len(e.Enrich) != 0 {
				t.Errorf("event = %+v, want the key, data.ua from useragent_band and nothing recorded", e)
			}
		}
	}
	if !found {
		t.Fatalf("the hit's event is not in the file: %+v", evs)
	}
}

// TestDurability stops the listener, sends 10,000 hits through the
// gateway, starts the listener again: every event arrives, once.
func TestDurability(t *testing.T) {
	const hits = 10000
	p := newPipeline(t)
	evDir := t.TempDir()
	listener := p.start("events_band", evDir) // declares its durable queue
	p.start("useragent_band", "")
	front := p.start("front", "")
	pixel := front.url + "/" + p.name("front") + "/pixel"
	routable(t, pixel+"?probe=1")
	listener.stop(t)

	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > hits {
					return
				}
				if code, _ := get(t, fmt.Sprintf("%s?n=%d", pixel, i), "Mozilla/5.0 Firefox/120.0"); code != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d hits through the gateway in %v with the listener down", hits, time.Since(start))
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d hits failed", n)
	}

	p.start("events_band", evDir)
	evs := waitEvents(t, filepath.Join(evDir, "events.jsonl"), hits+1, 60*time.Second)
	ids, ns := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		ids[e.ID] = true
		if n, ok := e.Data["n"].(string); ok {
			ns[n] = true
		}
	}
	if len(ns) != hits || len(ids) != len(evs) {
		t.Fatalf("received %d events, %d distinct ids, %d distinct hits; want %d distinct hits, each once", len(evs), len(ids), len(ns), hits)
	}
}

// TestDrain: hits in flight when the gateway gets SIGTERM are answered and
// their events published, though the gateway's own pixel handler is called
// over the bus (it is served until the hits on the port are done).
func TestDrain(t *testing.T) {
	const hits = 10
	p := newPipeline(t)
	evDir := t.TempDir()
	p.start("events_band", evDir)
	ua := p.start("useragent_band", "")
	front := p.start("front", "")
	pixel := front.url + "/" + p.name("front") + "/pixel"
	routable(t, pixel+"?probe=1")

	// A stopped enricher holds every hit at the enrich deadline (200 ms):
	// the SIGTERM comes while all of them are in flight.
	ua.p.Signal(syscall.SIGSTOP)
	defer ua.p.Signal(syscall.SIGCONT)
	codes := make(chan int, hits)
	for i := range hits {
		go func() {
			code, body := get(t, fmt.Sprintf("%s?drain=%d", pixel, i), "Mozilla/5.0 Firefox/120.0")
			if code == 200 && !strings.HasPrefix(body, "image/gif GIF89a") {
				code = -1
			}
			codes <- code
		}()
	}
	time.Sleep(100 * time.Millisecond)
	front.p.Signal(syscall.SIGTERM)
	for range hits {
		if code := <-codes; code != 200 {
			t.Errorf("a hit in flight at SIGTERM answered %d, want 200 and the GIF", code)
		}
	}
	if code := front.p.Wait(20 * time.Second); code != 0 {
		t.Fatalf("front exited %d:\n%s", code, front.p.Output())
	}
	ua.p.Signal(syscall.SIGCONT)
	drained := 0
	for _, e := range waitEvents(t, filepath.Join(evDir, "events.jsonl"), hits+1, 10*time.Second) {
		if _, ok := e.Data["drain"]; ok {
			drained++
		}
	}
	if drained != hits {
		t.Fatalf("%d events of the %d hits in flight, want all", drained, hits)
	}
}
