// Package ociimage provides reproducible assembly of the OCI images that the
// rococo_service Bazel rule produces: one image per platform (linux/amd64,
// linux/arm64), each holding a static Go service binary at /app/<name> plus
// what a Go service needs to run on scratch (CA roots, time zone data, a
// non-root user, a writable /tmp), gathered into one image index.
//
// Everything that goes into an image is derived from the inputs alone: file
// modification times, the config's created time and the history are fixed
// (the Unix epoch unless a stamped time is given), so two builds of the same
// inputs yield the same digests on any machine.
//
// Build assembles the index; WriteLayout writes it as an OCI image layout
// directory and WriteDockerTar writes one platform as a tarball that
// `docker load` and `podman load` accept. Verify checks a written layout
// against an Expectation, for the tests the rule generates.
package ociimage
