// Package rococo provides the core types of the Rococo service runtime: the
// processors a service implements, the messages they receive, and the
// Transport contract that the RabbitMQ, SQS and in-memory transports satisfy.
//
// A service's main hands its processors to the service host (package
// common, which calls rococo/host); the host reads the environment, picks the
// processor named by PROCESSOR_TYPE and either consumes messages
// (EXECUTION_TYPE=MESSAGING) or runs the processor on a schedule
// (EXECUTION_TYPE=CRON).
//
// This package imports no broker client: AMQP and AWS code lives only in the
// transport subpackages.
package rococo
