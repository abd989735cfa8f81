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
	"github.com/rococo-go/rococo/rococo/sqs"
	"github.com/rococo-go/rococo/tools/internal/cli"
)

// cmdDLQ is `rococo dlq <service> [--replay [--id ID ...]] [--limit N]`.
func cmdDLQ(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rococo dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replay := fs.Bool("replay", false, "move the dead letters back to the service's queue (confirmed publish, then removal)")
	var ids cli.Strings
	fs.Var(&ids, "id", "with --replay: only the message with this id (as listed); repeatable")
	limit := fs.Int("limit", 100, "list at most this many (0: all); not with --replay")
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
	if *limit < 0 {
		fmt.Fprintf(stderr, "rococo dlq: --limit %d: want 0 (list all) or more\n", *limit)
		return 2
	}
	limitSet := false
	fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "limit" })
	if *replay && limitSet {
		fmt.Fprintln(stderr, "rococo dlq: --limit bounds the listing; --replay moves every dead letter, or those --id names. Fix: drop --limit, or pick the messages with --id ID (as listed)")
		return 2
	}
	cfg, tc, err := brokerOf(getenv, name)
	if err != nil {
		fmt.Fprintf(stderr, "rococo dlq: %v\n", err)
		return exitCode(err)
	}
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	dlq := rococo.DeadLetterQueue(cfg.QueueName)
	if cfg.MessagingType == config.SQS {
		dlq = sqs.QueueName(dlq)
	}
	if *replay {
		moved, kept, err := replayDeadLetters(ctx, cfg.MessagingType, tc, cfg.QueueName, ids)
		fmt.Fprintf(stdout, "replayed %d message(s) from %s to %s; %d left there\n", moved, dlq, cfg.QueueName, kept)
		if err != nil {
			fmt.Fprintf(stderr, "rococo dlq: %v\n", err)
			return 1
		}
		if len(ids) > 0 && moved == 0 {
			fmt.Fprintf(stderr, "rococo dlq: no dead letter has the id %s (rococo dlq %s lists them)\n", strings.Join(ids, ", "), name)
			return 1
		}
		return 0
	}
	list, err := deadLetters(ctx, cfg.MessagingType, tc, cfg.QueueName, *limit)
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
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", d.ID, d.Attempt, oneLine(d.Error, 100), oneLine(d.Body, 100))
	}
	_ = w.Flush()
	listed := fmt.Sprintf("%d message(s) in %s", len(list), dlq)
	if *limit > 0 && len(list) >= *limit {
		// Cut at the limit: say how many are there.
		total, err := deadLetterCount(ctx, cfg.MessagingType, tc, cfg.QueueName)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "rococo dlq: counting the dead letters: %v\n", err)
			listed = fmt.Sprintf("listed the first %d message(s) in %s (there may be more: --limit 0 lists all)", len(list), dlq)
		case total > len(list):
			about := ""
			if cfg.MessagingType == config.SQS {
				about = "about " // SQS's counts are approximate
			}
			listed = fmt.Sprintf("listed %d of %s%d message(s) in %s (--limit 0 lists all)", len(list), about, total, dlq)
		}
	}
	fmt.Fprintf(stdout, "%s; replay with: rococo dlq %s --replay [--id ID]\n", listed, name)
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

// deadLetter is a dead letter of either transport.
type deadLetter struct {
	ID, Error, Body string
	Attempt         int
}

func deadLetters(ctx context.Context, messagingType string, tc rococo.TransportConfig, queue string, limit int) ([]deadLetter, error) {
	var out []deadLetter
	if messagingType == config.SQS {
		list, err := sqs.DeadLetters(ctx, tc, queue, limit)
		for _, d := range list {
			out = append(out, deadLetter{d.ID, d.Error, string(d.Body), d.Attempt})
		}
		return out, err
	}
	list, err := rabbitmq.DeadLetters(ctx, tc, queue, limit)
	for _, d := range list {
		out = append(out, deadLetter{d.ID, d.Error, string(d.Body), d.Attempt})
	}
	return out, err
}

// deadLetterCount is how many messages the dead-letter queue holds (on SQS,
// about how many).
func deadLetterCount(ctx context.Context, messagingType string, tc rococo.TransportConfig, queue string) (int, error) {
	if messagingType == config.SQS {
		return sqs.DeadLetterCount(ctx, tc, queue)
	}
	return rabbitmq.DeadLetterCount(ctx, tc, queue)
}

func replayDeadLetters(ctx context.Context, messagingType string, tc rococo.TransportConfig, queue string, ids []string) (moved, kept int, err error) {
	if messagingType == config.SQS {
		r, err := sqs.ReplayDeadLetters(ctx, tc, queue, ids)
		return r.Moved, r.Kept, err
	}
	r, err := rabbitmq.ReplayDeadLetters(ctx, tc, queue, ids)
	return r.Moved, r.Kept, err
}
