package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

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
