// Command imagebuilder builds, verifies and inspects the reproducible OCI
// images of rococo services. The rococo_service Bazel rule runs it; it can
// also run by hand:
//
//	imagebuilder build --spec spec.json --binary linux/amd64=bin_amd64 \
//	    --binary linux/arm64=bin_arm64 --tzdata zoneinfo.zip \
//	    --layout out/image [--digest-file out/image.digest] \
//	    [--base base_layout_dir] [--stamp-file bazel-out/stable-status.txt]
//	imagebuilder tar --layout out/image --platform linux/amd64 --tag repo:latest --out image.tar
//	imagebuilder platform --layout out/image --platform linux/amd64 --out out/image_linux_amd64
//	imagebuilder verify --layout out/image --expect expect.json [--digest-file out/image.digest] [--roundtrip]
//	imagebuilder inspect --layout out/image
//	imagebuilder roundtrip --layout out/image --out pulled [--platform linux/amd64]
//
// The spec is JSON (see spec in build.go). Label and annotation values and
// created may hold {KEY} placeholders that are replaced from the stamp files
// (Bazel's workspace status files); a label or annotation whose placeholder
// has no value is left out. created is empty (the Unix epoch), Unix
// seconds, or RFC 3339; the label and annotation
// org.opencontainers.image.created are set from it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: imagebuilder build|tar|platform|verify|inspect|roundtrip [flags] (-h for flags)"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = build(args[1:], stderr)
	case "tar":
		err = writeTar(args[1:], stderr)
	case "platform":
		err = writePlatform(args[1:], stderr)
	case "verify":
		err = verify(args[1:], stdout, stderr)
	case "inspect":
		err = inspect(args[1:], stdout, stderr)
	case "roundtrip":
		err = roundtrip(args[1:], stderr)
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
