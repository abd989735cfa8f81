package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rococo-go/rococo/tools/rococo/internal/scaffold"
)

// cmdNew is `rococo new <name> --type T [--transport X]`.
func cmdNew(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rococo new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "", "the service type: "+strings.Join(scaffold.Types, ", "))
	transport := fs.String("transport", "", "the broker of a messaging service: "+strings.Join(scaffold.Transports, ", ")+" (default rabbitmq)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rococo new <name> --type messaging|cron|band [--transport rabbitmq|sqs]")
		fs.PrintDefaults()
	}
	// The name may come before, between or after the flags.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if len(names) > 1 {
		fmt.Fprintf(stderr, "rococo new: unexpected arguments %q: give one name\n", names[1:])
		return 2
	}
	var name string
	if len(names) == 1 {
		name = names[0]
	}
	spec := scaffold.Spec{Name: name, Type: *typ, Transport: *transport}
	if err := spec.Check(); err != nil {
		fmt.Fprintf(stderr, "rococo new: %v\n", err)
		return 2
	}
	ws, err := workspace(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "rococo new: %v\n", err)
		return 1
	}
	if spec.Module, err = modulePath(ws); err != nil {
		fmt.Fprintf(stderr, "rococo new: %v\n", err)
		return 1
	}
	written, err := scaffold.Write(ws, spec)
	if err != nil {
		fmt.Fprintf(stderr, "rococo new: %v\n", err)
		return 1
	}
	for _, p := range written {
		fmt.Fprintln(stdout, "wrote", p)
	}
	fmt.Fprintf(stdout, "next: bazel test //services/%s/...\n", spec.Name)
	return 0
}
