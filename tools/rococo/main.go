// Command rococo is the developer's tool of a Rococo workspace:
//
//	rococo new <name> --type messaging|cron|band [--transport rabbitmq|sqs]
//
// writes services/<name>/ (processor.go, lib/ with a handler and its test,
// README.md, BUILD.bazel) that builds, tests and images at once. Run it as
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: rococo <command> [arguments]

commands:
  new <name> --type messaging|cron|band [--transport rabbitmq|sqs]
        write services/<name>/, ready to build, test and image

Run it as bazel run //tools/rococo -- <command> ..., or go run ./tools/rococo <command> ...
in the workspace. See docs/cli.md.
`

// run runs one command and returns the exit status: 0 done, 1 the command
// failed, 2 a usage error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "new":
		return cmdNew(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rococo: unknown command %q\n%s", args[0], usage)
	return 2
}
