// Command devregistry serves an in-memory OCI registry (go-containerregistry's
// pkg/registry) for local pushes and measurements:
//
//	devregistry --addr 127.0.0.1:5000 &
//	bazel run //services:push_all -- --repository-prefix 127.0.0.1:5000/rococo
//
// Everything is kept in memory and lost when it stops (SIGINT or SIGTERM).
// --latency delays every response, to model a remote registry when comparing
// parallel and sequential pushes.
// It listens on loopback unless told otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintf(os.Stderr, "devregistry: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx is done; ready, when not nil, receives the address
// once listening.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("devregistry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:5000", "listen address")
	verbose := fs.Bool("v", false, "log every request")
	latency := fs.Duration("latency", 0, "delay every response by this much, to model a remote registry's round trip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(io.Discard, "", 0)
	if *verbose {
		logger = log.New(stderr, "devregistry: ", log.LstdFlags)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	handler := registry.New(registry.Logger(logger))
	if *latency > 0 {
		handler = delayed(handler, *latency)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "devregistry: serving an in-memory registry at %s (latency %s)\n", ln.Addr(), *latency)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// delayed answers every request d later, unless the client goes away first.
func delayed(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			h.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}
