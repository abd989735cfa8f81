package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/gateway"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/config"
)

// runService configures and starts the band service s as name, serves
// its functions on b (unless serve is false: a vanished service) and
// announces its /status document into reg.
func runService(t testing.TB, name string, s *band.Service, b bus.Bus, reg *bus.Registry, serve bool) *band.Runner {
	t.Helper()
	if _, err := s.Configure(name, t.TempDir(), config.EnvMap(nil)); err != nil {
		t.Fatalf("Configure(%s) = %v", name, err)
	}
	r, err := s.Runner(band.Runtime{ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.SetBus(b)
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	done := make(chan error, 1)
	if serve {
		go func() { done <- r.ServeBus(ctx, name) }()
	} else {
		done <- nil
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeBus(%s) = %v", name, err)
		}
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		if err := r.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown(%s) = %v", name, err)
		}
	})
	doc, err := json.Marshal(map[string]any{"service": name, "state": r.State(), "functions": r.Functions()})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(doc); err != nil {
		t.Fatalf("registry.Add(%s) = %v", name, err)
	}
	return r
}

// serving waits until b serves each of service's functions: a call no
// longer fails with bus.ErrNoRoute.
func serving(t testing.TB, b bus.Bus, service string, fns ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, f := range fns {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_, err := b.Call(ctx, service, f, []byte("{}"))
			cancel()
			if !errors.Is(err, bus.ErrNoRoute) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s.%s is not served", service, f)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// front serves gw as services/front does, on a 127.0.0.1 port, and
// returns its URL.
func front(t testing.TB, gw *gateway.Gateway, b bus.Bus) string {
	t.Helper()
	s := band.New()
	band.Handle(s, "/{service}/{name}", gw.Hit, band.Local())
	if _, err := s.Configure("front", t.TempDir(), config.EnvMap(nil)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Runner(band.Runtime{ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.SetBus(b)
	r.Start(context.Background())
	srv := httptest.NewUnstartedServer(r.Handler(http.NotFoundHandler()))
	srv.Config.BaseContext = func(net.Listener) context.Context { return r.BaseContext() }
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return srv.URL
}

type answer struct {
	status int
	header http.Header
	body   string
}

func hit(t testing.TB, method, url, contentType, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}
