package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/internal/stamp"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

// createdKey is the label and annotation set from the image's created time.
const createdKey = "org.opencontainers.image.created"

// spec is the JSON image description the rule writes. Paths are relative to
// the action's working directory.
type spec struct {
	Name         string            `json:"name"`
	Env          map[string]string `json:"env"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Created      string            `json:"created"`
	Args         []string          `json:"args,omitempty"`
	ExposedPorts []string          `json:"exposed_ports,omitempty"`
	Files        []ociimage.File   `json:"files,omitempty"`
	Tars         []string          `json:"tars,omitempty"`
}

func build(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", "JSON image spec (required)")
	var binaries, stampFiles cli.Strings
	fs.Var(&binaries, "binary", "OS/ARCH=PATH of a service binary; repeat per platform")
	fs.Var(&stampFiles, "stamp-file", "Bazel workspace status file with KEY VALUE lines; repeatable")
	tzdata := fs.String("tzdata", "", "time zone data: zoneinfo.zip or Go's src/time/tzdata/zzipdata.go (required without --base)")
	base := fs.String("base", "", "base image OCI layout directory (default: scratch)")
	layoutDir := fs.String("layout", "", "output OCI image layout directory (required)")
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
	stamps, err := stamp.Read(stampFiles...)
	if err != nil {
		return err
	}
	opts := ociimage.Options{
		Name:         sp.Name,
		Env:          sp.Env,
		Labels:       stamped(sp.Labels, stamps),
		Annotations:  stamped(sp.Annotations, stamps),
		Args:         sp.Args,
		ExposedPorts: sp.ExposedPorts,
		Files:        sp.Files,
		Tars:         sp.Tars,
	}
	created, _ := stamps.Substitute(sp.Created)
	if opts.Created, err = parseCreated(created); err != nil {
		return err
	}
	opts.Labels[createdKey] = opts.Created.Format(time.RFC3339)
	opts.Annotations[createdKey] = opts.Created.Format(time.RFC3339)
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

// stamped returns m with placeholders replaced, leaving out the entries
// whose placeholders have no value.
func stamped(m map[string]string, stamps stamp.Values) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if s, ok := stamps.Substitute(v); ok {
			out[k] = s
		}
	}
	return out
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
