// Package processors finds the processor types a service's Go file
// declares, as the runtime tells them apart: a type with a method
// Process(context.Context, *rococo.Message) error is a message processor,
// one with Process(context.Context) error a cron processor. Gazelle's
// extension and the rococo command read processor.go with it.
package processors
