// Package bus is Band's message bus: events published on a topic exchange
// for listeners, calls to one replica of a service's function with a reply
// (enrichers, handlers reached through the gateway), and the registry of
// the Band services that are up.
//
// The Bus interface is what the runtime and the gateway use; package
// rococo/rabbitmq/rabbitbus implements it on RabbitMQ, package
// rococo/bus/bustest in memory for unit tests. Pattern is the topic
// matcher, with the broker's rules, that the gateway uses to pick the
// functions a key reaches; Registry keeps the announced services for a TTL.
package bus
