package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/tools/internal/cli"
)

// cmdDLQ is `rococo dlq <service> [--replay [--id ID ...]] [--limit N]`.
func cmdDLQ(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rococo dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replay := fs.Bool("replay", false, "move the dead letters back to the service's queue (confirmed publish, then removal)")
	var ids cli.Strings
	fs.Var(&ids, "id", "with --replay: only the message with this id (as listed); repeatable")
	limit := fs.Int("limit", 100, "list at most this many (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rococo dlq <service> [--limit N] | rococo dlq <service> --replay [--id ID ...]")
		fs.PrintDefaults()
	}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if name == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if len(ids) > 0 && !*replay {
		fmt.Fprintln(stderr, "rococo dlq: --id selects what --replay moves. Fix: add --replay")
		return 2
	}
	cfg, tc, err := brokerOf(getenv, name)
	if err != nil {
		fmt.Fprintf(stderr, "rococo dlq: %v\n", err)
		return 1
	}
	if cfg.MessagingType != config.RabbitMQ {
		fmt.Fprintf(stderr, "rococo dlq: %s uses %s; rococo dlq reads RabbitMQ dead-letter queues only so far\n", name, cfg.MessagingType)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	dlq := rococo.DeadLetterQueue(cfg.QueueName)
	if *replay {
		r, err := rabbitmq.ReplayDeadLetters(ctx, tc, cfg.QueueName, ids)
		fmt.Fprintf(stdout, "replayed %d message(s) from %s to %s; %d left there\n", r.Moved, dlq, cfg.QueueName, r.Kept)
		if err != nil {
			fmt.Fprintf(stderr, "rococo dlq: %v\n", err)
			return 1
		}
		if len(ids) > 0 && r.Moved == 0 {
			fmt.Fprintf(stderr, "rococo dlq: no dead letter has the id %s (rococo dlq %s lists them)\n", strings.Join(ids, ", "), name)
			return 1
		}
		return 0
	}
	list, err := rabbitmq.DeadLetters(ctx, tc, cfg.QueueName, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "rococo dlq: %v\n", err)
		return 1
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "%s is empty\n", dlq)
		return 0
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tATTEMPT\tERROR\tBODY")
	for _, d := range list {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", d.ID, d.Attempt, oneLine(d.Error, 100), oneLine(string(d.Body), 100))
	}
	_ = w.Flush()
	fmt.Fprintf(stdout, "%d message(s) in %s; replay with: rococo dlq %s --replay [--id ID]\n", len(list), dlq, name)
	return 0
}

// oneLine shortens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
