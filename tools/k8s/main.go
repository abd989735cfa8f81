// Command k8s writes and checks the Kubernetes manifests of a rococo
// service. rococo_service's :k8s target runs `generate` as a build action;
// its :k8s_test runs `verify`:
//
//	k8s generate --spec spec.json --digest-file image.digest [--repository-file F] [--stamp-file F]... --out k8s.yaml
//	k8s verify --manifests k8s.yaml --spec spec.json --digest-file image.digest
//
// The spec is manifest.Spec as JSON: the service's label, name, version,
// repository, baked environment, replicas, resources and disruption budget.
// A repository file (one line, {KEY} placeholders filled from the stamp
// files) replaces the spec's repository. Errors name the service and exit 1;
// bad usage exits 2.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/internal/stamp"
	"github.com/rococo-go/rococo/tools/k8s/manifest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: k8s generate|verify [flags] (-h for flags)"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "generate":
		err = generate(args[1:], stderr)
	case "verify":
		err = verify(args[1:], stdout, stderr)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "k8s %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func generate(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", "JSON service spec (required)")
	digestPath := fs.String("digest-file", "", "the image's digest file, sha256:... (required)")
	repoFile := fs.String("repository-file", "", "file holding the repository, instead of the spec's")
	out := fs.String("out", "", "output manifests (required)")
	var stampFiles cli.Strings
	fs.Var(&stampFiles, "stamp-file", "Bazel workspace status file for {KEY} placeholders in the repository file; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *specPath == "" || *digestPath == "" || *out == "" {
		return errors.New("--spec, --digest-file and --out are required")
	}
	spec, digest, err := inputs(*specPath, *digestPath)
	if err != nil {
		return err
	}
	if *repoFile != "" {
		if spec.Repository, err = readRepository(*repoFile, stampFiles); err != nil {
			return fmt.Errorf("service %s: %w", spec.Service, err)
		}
	}
	data, err := manifest.Generate(spec, digest)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

func verify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifests := fs.String("manifests", "", "the manifests to check (required)")
	specPath := fs.String("spec", "", "JSON service spec (required)")
	digestPath := fs.String("digest-file", "", "the image's digest file (required)")
	repoFile := fs.String("repository-file", "", "file holding the repository, instead of the spec's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *manifests == "" || *specPath == "" || *digestPath == "" {
		return errors.New("--manifests, --spec and --digest-file are required")
	}
	spec, digest, err := inputs(*specPath, *digestPath)
	if err != nil {
		return err
	}
	if *repoFile != "" {
		if spec.Repository, err = readRepository(*repoFile, nil); err != nil {
			return fmt.Errorf("service %s: %w", spec.Service, err)
		}
	}
	data, err := os.ReadFile(*manifests)
	if err != nil {
		return err
	}
	errs := manifest.Verify(data, spec, digest)
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d problem(s) in the manifests of service %s", len(errs), spec.Service)
	}
	fmt.Fprintf(stdout, "service %s: manifests decode strictly into k8s.io/api types; image pinned at %s; non-root, read-only root, no capabilities, /tmp emptyDir, probes, grace period, replicas and resources as asked\n", spec.Service, digest)
	return nil
}

func inputs(specPath, digestPath string) (manifest.Spec, string, error) {
	var spec manifest.Spec
	data, err := os.ReadFile(specPath)
	if err != nil {
		return spec, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, "", fmt.Errorf("parse %s: %w", specPath, err)
	}
	d, err := os.ReadFile(digestPath)
	if err != nil {
		return spec, "", err
	}
	return spec, strings.TrimSpace(string(d)), nil
}

// readRepository reads a repository file: one line, placeholders filled.
func readRepository(file string, stampFiles []string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read repository file: %w", err)
	}
	lines := strings.Fields(string(data))
	if len(lines) != 1 {
		return "", fmt.Errorf("repository file %s: want one line REGISTRY/PATH, got %d", file, len(lines))
	}
	stamps, err := stamp.Read(stampFiles...)
	if err != nil {
		return "", err
	}
	repo, ok := stamps.Substitute(lines[0])
	if !ok {
		return "", fmt.Errorf("repository %q has a placeholder without a value: build with --stamp (bazel build --config=release)", lines[0])
	}
	return repo, nil
}
