package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

// writeTar writes one platform of a layout as a docker-loadable tarball
// (the action behind :load and :image.tar, run only when they are asked
// for).
func writeTar(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	platform := fs.String("platform", "", "platform to write, such as linux/amd64 (required)")
	out := fs.String("out", "", "output tarball (required)")
	var tags cli.Strings
	fs.Var(&tags, "tag", "REPOSITORY:TAG in the tarball; repeatable, at least one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" || *platform == "" || *out == "" || len(tags) == 0 {
		return errors.New("--layout, --platform, --out and at least one --tag are required")
	}
	p, err := v1.ParsePlatform(*platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	idx, cleanup, err := pusher.OpenLayout(*layoutDir)
	if err != nil {
		return err
	}
	defer cleanup()
	return ociimage.WriteDockerTar(*out, idx, *p, tags)
}

// writePlatform writes one platform of a layout as a single-image layout,
// the form rules_oci's oci_image(base) and oci_load read.
func writePlatform(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("platform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	platform := fs.String("platform", "", "platform to write, such as linux/amd64 (required)")
	out := fs.String("out", "", "output layout directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" || *platform == "" || *out == "" {
		return errors.New("--layout, --platform and --out are required")
	}
	p, err := v1.ParsePlatform(*platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	idx, cleanup, err := pusher.OpenLayout(*layoutDir)
	if err != nil {
		return err
	}
	defer cleanup()
	return ociimage.WritePlatformLayout(*out, idx, *p)
}
