// Command rococo is the developer's tool of a Rococo workspace:
//
//	rococo new <name> --type messaging|cron|band [--transport rabbitmq|sqs]
//	rococo check [service dirs...]
//	rococo dev <service>
//	rococo send <service> [json]
//	rococo dlq <service> [--replay [--id ID ...]]
//
// new writes services/<name>/ (processor.go, lib/ with a handler and its
// test, README.md, BUILD.bazel) that builds, tests and images at once; dev
// runs a service on the host and restarts it when its sources change; send
// publishes a message to the queue a service consumes, with the service's
// env (BUILD.bazel, .env, .env.local, the shell); dlq lists and replays its
// dead letters. Run it as
// `bazel run //tools/rococo -- new ...` (it writes into the workspace Bazel
// runs in) or `go run ./tools/rococo new ...` from the workspace. See
// docs/cli.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: rococo <command> [arguments]

commands:
  new <name> --type messaging|cron|band [--transport rabbitmq|sqs]
        write services/<name>/, ready to build, test and image
  check [service dirs...]
        check the layout and env of the services (all without arguments), without Bazel
  dev <service>
        build and run the service on the host with its env (BUILD.bazel under .env, .env.local
        and the shell), development logging; rebuilt and restarted when its files change
  send <service> [json]
        publish one JSON message (stdin when omitted) to the queue the service consumes
  dlq <service> [--limit N]
        list the service's dead letters: id, attempt, error, body
  dlq <service> --replay [--id ID ...]
        move them back to its queue (confirmed publish before removal)

Run it as bazel run //tools/rococo -- <command> ..., or go run ./tools/rococo <command> ...
in the workspace. See docs/cli.md.
`

// run runs one command and returns the exit status: 0 done, 1 the command
// failed, 2 a usage error.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "new":
		return cmdNew(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], getenv, stdout, stderr)
	case "dev":
		return cmdDev(ctx, args[1:], getenv, stdout, stderr)
	case "send":
		return cmdSend(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "dlq":
		return cmdDLQ(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rococo: unknown command %q\n%s", args[0], usage)
	return 2
}
