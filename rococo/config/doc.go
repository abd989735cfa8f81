// Package config provides the service host's configuration: it reads the
// execution environment (the names Python rococo uses; docs/environment.md)
// from the process environment and the .env and .env.local files, and
// validates all of it before anything connects.
//
// Every invalid or missing value is a *Error whose message is one line naming
// the variable, the value and what is accepted, e.g.
//
//	invalid RABBITMQ_PORT="abc": want a port number 1-65535
//
// Empty values count as unset (Docker's "ENV X=" and Bazel's env attributes
// give empty strings), so a variable with a default falls back to it.
package config
