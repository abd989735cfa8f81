package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	cranecmd "github.com/google/go-containerregistry/cmd/crane/cmd"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func verify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	expectPath := fs.String("expect", "", "JSON expectation (required)")
	digestPath := fs.String("digest-file", "", "the image's digest file: the layout must hold that index")
	roundtrip := fs.Bool("roundtrip", false, "also push the layout directory with crane to a registry on 127.0.0.1, as rules_oci's oci_push does, pull it back with `crane pull --format=oci` and verify that")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" || *expectPath == "" {
		return errors.New("--layout and --expect are required")
	}
	var want ociimage.Expectation
	if err := readJSON(*expectPath, &want); err != nil {
		return err
	}
	dir, cleanup, err := pusher.Materialise(*layoutDir)
	if err != nil {
		return fmt.Errorf("read image layout %s: %w", *layoutDir, err)
	}
	defer cleanup()
	if err := ociimage.CheckLayoutForm(dir); err != nil {
		return fmt.Errorf("service %s: %w", want.Service, err)
	}
	idx, closeIdx, err := pusher.OpenLayout(dir)
	if err != nil {
		return err
	}
	defer closeIdx()
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	if *digestPath != "" {
		data, err := os.ReadFile(*digestPath)
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(data)); got != digest.String() {
			return fmt.Errorf("service %s: digest file says %s, the layout holds %s", want.Service, got, digest)
		}
	}
	if err := report(stderr, ociimage.Verify(idx, want), want.Service, "image"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "service %s: image %s matches its attributes (%s)\n", want.Service, digest, strings.Join(want.Platforms, ", "))
	if !*roundtrip {
		return nil
	}
	tmp, err := os.MkdirTemp("", "roundtrip")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pulledDir := filepath.Join(tmp, "pulled")
	ref, err := craneRoundtrip(ctx, dir, want.Name, pulledDir)
	if err != nil {
		return fmt.Errorf("service %s: registry round trip: %w", want.Service, err)
	}
	pulled, closePulled, err := pusher.OpenLayout(pulledDir)
	if err != nil {
		return err
	}
	defer closePulled()
	pd, err := pulled.Digest()
	if err != nil {
		return err
	}
	if pd != digest {
		return fmt.Errorf("service %s: crane pulled back %s, pushed %s", want.Service, pd, digest)
	}
	if err := report(stderr, ociimage.Verify(pulled, want), want.Service, "pulled image"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "service %s: crane pushed the layout directory to %s, pulled it back with the same digest; config and manifests match its attributes\n", want.Service, ref)
	return nil
}

func report(stderr io.Writer, errs []error, service, what string) error {
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d problem(s) in the %s of service %s; fix the rococo_service attributes or the image rule", len(errs), what, service)
	}
	return nil
}

// craneRoundtrip runs crane's own commands (go-containerregistry's
// cmd/crane) against a registry served in process on 127.0.0.1, the way
// rules_oci's oci_push runs crane: the digest is .manifests[0].digest of the
// layout's index.json, `crane push DIR REPO@DIGEST --image-refs FILE`, then
// `crane tag REF latest`. Then `crane pull --format=oci REPO:latest OUT`, as
// a user fetching the image would. It returns the pushed reference.
func craneRoundtrip(ctx context.Context, dir, name, out string, pull ...string) (string, error) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/rococo/" + name

	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", err
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(data, &top); err != nil || len(top.Manifests) == 0 {
		return "", fmt.Errorf("read %s/index.json: want a manifests list (%v)", dir, err)
	}
	refs := filepath.Join(filepath.Dir(out), "image-refs")
	if _, err := crane(ctx, "push", dir, repo+"@"+top.Manifests[0].Digest.String(), "--image-refs", refs); err != nil {
		return "", err
	}
	pushed, err := os.ReadFile(refs)
	if err != nil {
		return "", fmt.Errorf("crane push wrote no --image-refs: %w", err)
	}
	ref := strings.TrimSpace(string(pushed))
	if _, err := crane(ctx, "tag", ref, "latest"); err != nil {
		return "", err
	}
	if _, err := crane(ctx, append(append([]string{"pull", "--format=oci"}, pull...), repo+":latest", out)...); err != nil {
		return "", err
	}
	return ref, nil
}

// roundtrip writes what `crane pull --format=oci` makes of a layout after
// the crane push of craneRoundtrip: the layout a crane or rules_oci user
// has of an image pulled from a registry (tests use it as a base image).
func roundtrip(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("roundtrip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	out := fs.String("out", "", "output directory for the pulled layout (required)")
	platform := fs.String("platform", "", "pull this platform only (crane pull --platform)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" || *out == "" {
		return errors.New("--layout and --out are required")
	}
	dir, cleanup, err := pusher.Materialise(*layoutDir)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pull []string
	if *platform != "" {
		pull = []string{"--platform", *platform}
	}
	tmp, err := os.MkdirTemp("", "roundtrip")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pulled := filepath.Join(tmp, "pulled")
	if _, err := craneRoundtrip(ctx, dir, "image", pulled, pull...); err != nil {
		return err
	}
	return os.CopyFS(*out, os.DirFS(pulled))
}

// crane runs one crane command line with a fresh root command (crane's
// options accumulate per run) and returns what it printed.
func crane(ctx context.Context, args ...string) (string, error) {
	root := cranecmd.New("crane", "crane", nil)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return "", fmt.Errorf("crane %s: %w (%s)", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
