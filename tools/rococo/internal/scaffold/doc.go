// Package scaffold writes a new service directory, services/<name>/, for
// `rococo new`: processor.go, a lib package with a handler and its test, a
// README documenting the env, and a complete BUILD.bazel for each of them,
// from the templates under templates/ (one directory per service type).
package scaffold
