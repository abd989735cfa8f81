// Command push pushes rococo service images (OCI image layouts) to a
// registry: by digest first, then each tag. `bazel run //services/NAME:push`
// and `bazel run //services:push_all` run it.
//
//	push --layout DIR --repository REGISTRY/PATH [--tag T]...
//	push --all --image NAME=DIR... --repository-prefix REGISTRY/PATH [--tag T]... [--jobs N]
//
// --default-repository (or --default-repository-file), --default-repository-prefix
// and --default-tag (or --default-tags-file, one tag a line) carry the values
// from the BUILD file; --repository, --repository-prefix and --tag given on
// the command line replace them. Tags and repositories may hold {KEY}
// placeholders filled from the --stamp-file files (Bazel's workspace status,
// passed with --stamp): a tag whose placeholder has no value is left out
// with a note, a repository whose placeholder has none is an error.
// Credentials come from the docker configuration and its credential helpers.
// On failure it prints what failed and exits 1; on bad usage it exits 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/internal/stamp"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, pusher.Options{})
	stop()
	os.Exit(code)
}

// errUsage marks command-line mistakes (exit 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, o pusher.Options) int {
	err := push(ctx, args, stdout, stderr, o)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "push: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "push: FAILED: %v\n", err)
		return 1
	}
}

func push(ctx context.Context, args []string, stdout, stderr io.Writer, o pusher.Options) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "push every --image to --repository-prefix/NAME in parallel")
	layoutDir := fs.String("layout", "", "OCI image layout directory to push (one image)")
	repository := fs.String("repository", "", "REGISTRY/PATH to push to (replaces --default-repository)")
	defRepository := fs.String("default-repository", "", "repository from the BUILD file")
	prefix := fs.String("repository-prefix", "", "REGISTRY/PATH under which --all pushes NAME (replaces --default-repository-prefix)")
	defPrefix := fs.String("default-repository-prefix", "", "repository prefix from the BUILD file")
	defRepositoryFile := fs.String("default-repository-file", "", "file holding the repository from the BUILD file (one line)")
	var tags, defTags, defTagsFiles, images, stampFiles cli.Strings
	fs.Var(&tags, "tag", "tag to set after the push; repeatable (replaces every default tag)")
	fs.Var(&defTags, "default-tag", "tag from the BUILD file; repeatable")
	fs.Var(&defTagsFiles, "default-tags-file", "file of tags from the BUILD file, one a line (# comments); repeatable")
	fs.Var(&images, "image", "NAME=DIR: an image for --all; repeatable")
	fs.Var(&stampFiles, "stamp-file", "Bazel workspace status file whose values fill {KEY} placeholders; repeatable")
	jobs := fs.Int("jobs", 4, "images pushed at once with --all")
	fs.BoolVar(&o.Insecure, "insecure", o.Insecure, "allow plain HTTP to any registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	stamps, err := stamp.Read(stampFiles...)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		tags = defTags
		for _, f := range defTagsFiles {
			lines, err := readLines(f)
			if err != nil {
				return fmt.Errorf("read tags file: %w", err)
			}
			tags = append(tags, lines...)
		}
	}
	tags = stampTags(tags, stamps, stderr)
	if *defRepositoryFile != "" && *defRepository == "" {
		lines, err := readLines(*defRepositoryFile)
		if err != nil || len(lines) != 1 {
			return fmt.Errorf("read repository file %s: want one line REGISTRY/PATH (%v)", *defRepositoryFile, err)
		}
		*defRepository = lines[0]
	}
	if !*all {
		repo, err := stampRepository(firstNonEmpty(*repository, *defRepository), stamps)
		if err != nil {
			return err
		}
		if *layoutDir == "" || repo == "" {
			return fmt.Errorf("%w: --layout and --repository are required (set the repository or repository_file attribute of the rococo_service, or pass --repository REGISTRY/PATH)", errUsage)
		}
		idx, cleanup, err := readLayout(*layoutDir)
		if err != nil {
			return err
		}
		defer cleanup()
		res, err := pusher.Push(ctx, idx, repo, tags, o)
		if err != nil {
			return err
		}
		printResult(stdout, res)
		return nil
	}

	pfx, err := stampRepository(firstNonEmpty(*prefix, *defPrefix), stamps)
	if err != nil {
		return err
	}
	if pfx == "" || len(images) == 0 {
		return fmt.Errorf("%w: --all needs --repository-prefix REGISTRY/PATH and at least one --image", errUsage)
	}
	var list []pusher.Image
	for _, spec := range images {
		n, dir, ok := strings.Cut(spec, "=")
		if !ok || n == "" || dir == "" {
			return fmt.Errorf("%w: --image %q: want NAME=DIR", errUsage, spec)
		}
		idx, cleanup, err := readLayout(dir)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		defer cleanup()
		list = append(list, pusher.Image{Name: n, Index: idx})
	}
	start := time.Now()
	results, err := pusher.PushAll(ctx, list, pfx, tags, *jobs, o)
	for _, r := range results {
		printResult(stdout, r)
	}
	fmt.Fprintf(stdout, "pushed %d of %d images to %s in %s (%d at a time)\n", len(results), len(list), pfx, time.Since(start).Round(time.Millisecond), *jobs)
	return err
}

func readLayout(dir string) (v1.ImageIndex, func(), error) {
	idx, cleanup, err := pusher.OpenLayout(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (build it first: bazel build)", err)
	}
	return idx, cleanup, nil
}

func printResult(w io.Writer, r *pusher.Result) {
	tags := "no tags"
	if len(r.Tags) > 0 {
		tags = "tags " + strings.Join(r.Tags, ", ")
	}
	fmt.Fprintf(w, "pushed %s (%s) in %s\n", r.Ref, tags, r.Duration.Round(time.Millisecond))
}

// readLines returns the lines of file without blanks, surrounding space
// and # comments.
func readLines(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}

// stampTags fills the tags' placeholders; a tag that cannot be filled is
// left out, with a note on stderr.
func stampTags(tags []string, stamps stamp.Values, stderr io.Writer) []string {
	var out []string
	for _, t := range tags {
		s, ok := stamps.Substitute(t)
		if !ok {
			fmt.Fprintf(stderr, "push: tag %q left out: its placeholder has no value (run with --stamp, e.g. bazel run --config=release ...)\n", t)
			continue
		}
		out = append(out, s)
	}
	return out
}

// stampRepository fills the repository's placeholders; one that cannot be
// filled is a usage error.
func stampRepository(repo string, stamps stamp.Values) (string, error) {
	s, ok := stamps.Substitute(repo)
	if !ok {
		return "", fmt.Errorf("%w: repository %q has a placeholder without a value; run with --stamp (bazel run --config=release ...)", errUsage, repo)
	}
	return s, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
