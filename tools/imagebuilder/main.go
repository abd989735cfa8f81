// Command imagebuilder builds, verifies and inspects the reproducible OCI
// images of rococo services. The rococo_service Bazel rule runs it; it can
// also run by hand:
//
//	imagebuilder build --spec spec.json --binary linux/amd64=bin_amd64 \
//	    --binary linux/arm64=bin_arm64 --tzdata zoneinfo.zip \
//	    --layout out/image [--tar out/image.tar --tar-tag name:latest] \
//	    [--base base_layout_dir] [--stamp-file bazel-out/stable-status.txt]
//	imagebuilder verify --layout out/image --expect expect.json [--roundtrip]
//	imagebuilder inspect --layout out/image
//
// The spec is JSON: {"name": "svc", "env": {...}, "labels": {...},
// "created": ""}. Label values and created may hold {KEY} placeholders that
// are replaced from the stamp files (Bazel's workspace status files); a
// label whose placeholder has no value is left out. created is empty (the
// Unix epoch), Unix seconds, or RFC 3339; the label
// org.opencontainers.image.created is set from it.
package main

import (
	"bufio"
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
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: imagebuilder build|verify|inspect [flags] (-h for flags)"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = build(args[1:], stderr)
	case "verify":
		err = verify(args[1:], stdout, stderr)
	case "inspect":
		err = inspect(args[1:], stdout, stderr)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "imagebuilder %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// createdLabel is set from the image's created time.
const createdLabel = "org.opencontainers.image.created"

// spec is the JSON image description the rule writes.
type spec struct {
	Name    string            `json:"name"`
	Env     map[string]string `json:"env"`
	Labels  map[string]string `json:"labels"`
	Created string            `json:"created"`
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func build(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", "JSON image spec (required)")
	var binaries, stampFiles multiFlag
	fs.Var(&binaries, "binary", "OS/ARCH=PATH of a service binary; repeat per platform")
	fs.Var(&stampFiles, "stamp-file", "Bazel workspace status file with KEY VALUE lines; repeatable")
	tzdata := fs.String("tzdata", "", "time zone data: zoneinfo.zip or Go's src/time/tzdata/zzipdata.go (required without --base)")
	base := fs.String("base", "", "base image OCI layout directory (default: scratch)")
	layoutDir := fs.String("layout", "", "output OCI image layout directory (required)")
	tarPath := fs.String("tar", "", "output docker-loadable tarball for --tar-platform")
	tarPlatform := fs.String("tar-platform", "linux/"+runtime.GOARCH, "platform written to --tar")
	tarTag := fs.String("tar-tag", "", "tag in --tar (default NAME:latest)")
	digestPath := fs.String("digest-file", "", "write the image index digest to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *specPath == "" || *layoutDir == "" || len(binaries) == 0 {
		return errors.New("--spec, --layout and at least one --binary are required")
	}
	var sp spec
	if err := readJSON(*specPath, &sp); err != nil {
		return err
	}
	stamps, err := readStamps(stampFiles)
	if err != nil {
		return err
	}
	opts := ociimage.Options{Name: sp.Name, Env: sp.Env, Labels: map[string]string{}}
	for k, v := range sp.Labels {
		if s, ok := substitute(v, stamps); ok {
			opts.Labels[k] = s
		}
	}
	created, _ := substitute(sp.Created, stamps)
	if opts.Created, err = parseCreated(created); err != nil {
		return err
	}
	opts.Labels[createdLabel] = opts.Created.Format(time.RFC3339)
	for _, b := range binaries {
		plat, file, ok := strings.Cut(b, "=")
		if !ok {
			return fmt.Errorf("--binary %q: want OS/ARCH=PATH", b)
		}
		p, err := v1.ParsePlatform(plat)
		if err != nil {
			return fmt.Errorf("--binary %q: %w", b, err)
		}
		opts.Binaries = append(opts.Binaries, ociimage.Binary{Platform: *p, Path: file})
	}
	if *base != "" {
		var cleanup func()
		if opts.Base, cleanup, err = pusher.OpenLayout(*base); err != nil {
			return fmt.Errorf("base: %w", err)
		}
		defer cleanup()
	} else if *tzdata == "" {
		return errors.New("--tzdata is required without --base")
	}
	if *tzdata != "" && *base == "" {
		if opts.ZoneInfo, err = os.ReadFile(*tzdata); err != nil {
			return fmt.Errorf("read time zone data: %w", err)
		}
	}
	idx, err := ociimage.Build(opts)
	if err != nil {
		return err
	}
	if err := ociimage.WriteLayout(*layoutDir, idx); err != nil {
		return err
	}
	if *tarPath != "" {
		p, err := v1.ParsePlatform(*tarPlatform)
		if err != nil {
			return fmt.Errorf("--tar-platform: %w", err)
		}
		tag := *tarTag
		if tag == "" {
			tag = sp.Name + ":latest"
		}
		if err := ociimage.WriteDockerTar(*tarPath, idx, *p, tag); err != nil {
			return err
		}
	}
	if *digestPath != "" {
		d, err := idx.Digest()
		if err != nil {
			return fmt.Errorf("index digest: %w", err)
		}
		if err := os.WriteFile(*digestPath, []byte(d.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("write digest: %w", err)
		}
	}
	return nil
}

func verify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	expectPath := fs.String("expect", "", "JSON expectation (required)")
	roundtrip := fs.Bool("roundtrip", false, "also push the image to an in-process registry on 127.0.0.1 and verify what is pulled back")
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
	idx, cleanup, err := pusher.OpenLayout(*layoutDir)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := report(stderr, ociimage.Verify(idx, want), want.Service, "image"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "service %s: image matches its attributes (%s)\n", want.Service, strings.Join(want.Platforms, ", "))
	if !*roundtrip {
		return nil
	}
	tmp, err := os.MkdirTemp("", "roundtrip")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pulled, ref, err := pushAndPull(idx, want.Name, tmp)
	if err != nil {
		return fmt.Errorf("service %s: registry round trip: %w", want.Service, err)
	}
	if err := report(stderr, ociimage.Verify(pulled, want), want.Service, "pulled image"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "service %s: pushed to %s and pulled back; config matches its attributes\n", want.Service, ref)
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

// pushAndPull pushes idx with the push tool's code to a registry served in
// process on 127.0.0.1, then pulls it back by tag into the layout dir.
func pushAndPull(idx v1.ImageIndex, repo, dir string) (v1.ImageIndex, string, error) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host := strings.TrimPrefix(srv.URL, "http://")
	res, err := pusher.Push(ctx, idx, host+"/rococo/"+repo, []string{"latest"}, pusher.Options{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		return nil, "", err
	}
	tag, err := name.NewTag(host + "/rococo/" + repo + ":latest")
	if err != nil {
		return nil, "", err
	}
	pulled, err := remote.Index(tag, remote.WithContext(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", tag, err)
	}
	// Copy everything out while the registry still runs.
	if _, err := layout.Write(dir, pulled); err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", tag, err)
	}
	local, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", err
	}
	return local, res.Ref, nil
}

func inspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" {
		return errors.New("--layout is required")
	}
	idx, cleanup, err := pusher.OpenLayout(*layoutDir)
	if err != nil {
		return err
	}
	defer cleanup()
	sum, err := ociimage.Summarize(idx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "index %s\n", sum.Digest)
	for _, p := range sum.Platforms {
		fmt.Fprintf(stdout, "%-12s %s uncompressed %d bytes (%.1f MB), compressed %d bytes\n", p.Platform, p.Digest, p.Uncompressed, float64(p.Uncompressed)/1e6, p.Compressed)
	}
	return nil
}

func readJSON(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", file, err)
	}
	return nil
}

// readStamps reads Bazel workspace status files: one "KEY VALUE" per line.
func readStamps(files []string) (map[string]string, error) {
	m := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read stamp file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), " ")
			if k != "" {
				m[k] = v
			}
		}
	}
	return m, nil
}

var placeholder = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)

// substitute replaces {KEY} placeholders in s from stamps; ok is false when
// a placeholder has no value (the build is not stamped).
func substitute(s string, stamps map[string]string) (string, bool) {
	ok := true
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		v, found := stamps[p[1:len(p)-1]]
		if !found {
			ok = false
		}
		return v
	})
	return out, ok
}

func parseCreated(s string) (time.Time, error) {
	if s == "" {
		return ociimage.Epoch, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("created %q: want Unix seconds or RFC 3339", s)
	}
	return t.UTC(), nil
}
