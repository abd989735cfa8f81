// Package settings provides a service's own settings from YAML files, as
// Band services keep them: config.yaml, then custom.yaml, in the working
// directory, each rendered with the environment ({{ VAR }} and
// {{ VAR|default('x') }}, the subset of Jinja that Band's configs use),
// deep-merged (custom.yaml's keys win; mappings merge, everything else is
// replaced) and decoded strictly into the service's own typed struct.
//
// Every problem stops the service at start with one line naming the file,
// the line and the key (*Error): a template naming a variable that is unset
// and has no default, a key the struct does not declare, a value of the
// wrong type. Redacted gives the decoded settings for a log with secrets
// masked.
package settings
