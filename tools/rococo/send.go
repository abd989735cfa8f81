package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/rococo-go/rococo/rococo"
)

// cmdSend is `rococo send <service> [json]`: publishes one message (the
// argument, else stdin) to the queue the service consumes, confirmed.
func cmdSend(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	const usage = "usage: rococo send <service> [json]   (the body is read from stdin when json is omitted)"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) < 1 || len(args) > 2 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	name := args[0]
	var body []byte
	if len(args) == 2 {
		body = []byte(args[1])
	} else {
		var err error
		if body, err = io.ReadAll(io.LimitReader(stdin, 1<<20+1)); err != nil {
			fmt.Fprintf(stderr, "rococo send: read the body from stdin: %v\n", err)
			return 1
		}
		if len(body) > 1<<20 {
			fmt.Fprintln(stderr, "rococo send: the body on stdin is over 1 MiB")
			return 2
		}
	}
	body = bytes.TrimSpace(body)
	if !rococo.ValidJSON(body) { // Python's dialect too: NaN, Infinity, as the transports accept
		fmt.Fprintf(stderr, "rococo send: the body is not JSON: %.80q. Fix: quote it for the shell, e.g. rococo send %s '{\"name\": \"Ann\"}'\n", body, name)
		return 2
	}
	cfg, tc, err := brokerOf(getenv, name)
	if err != nil {
		fmt.Fprintf(stderr, "rococo send: %v\n", err)
		return exitCode(err)
	}
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	tr, err := tc.Open(ctx, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintf(stderr, "rococo send: %v\n", err)
		return 1
	}
	defer tr.Close()
	if err := tr.Publish(ctx, cfg.QueueName, &rococo.Message{Body: body}); err != nil {
		fmt.Fprintf(stderr, "rococo send: %v\n", publishError(cfg.QueueName, err))
		return 1
	}
	fmt.Fprintf(stdout, "sent %d bytes to queue %s (%s)\n", len(body), cfg.QueueName, cfg.MessagingType)
	return 0
}

// publishError names the queue once: the transports' errors already say
// "publish to (queue) "q": ...".
func publishError(queue string, err error) error {
	if strings.Contains(err.Error(), strconv.Quote(queue)) {
		return err
	}
	return fmt.Errorf("publish to queue %q: %w", queue, err)
}
