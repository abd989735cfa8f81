package common

import (
	"github.com/rococo-go/rococo/common/version"
	"github.com/rococo-go/rococo/rococo/host"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/sqs"
)

// Main runs the service host with the service's processors and exits; it is
// the whole of a service's main:
//
//	func main() { common.Main(&EmailServiceProcessor{}) }
//
// PROCESSOR_TYPE picks one of procs by its Go type name. Name, version and
// commit come from package version (set by Bazel at link time).
func Main(procs ...any) {
	host.Main(Info(), procs...)
}

// Info returns the host.Info of this binary: package version's values and
// the transports linked into every service.
func Info() host.Info {
	return host.Info{
		Name:       version.Name,
		Version:    version.Version,
		Commit:     version.Commit,
		Transports: transports(),
	}
}

// transports maps each MESSAGING_TYPE to the transport package that reads
// its variables and builds it. A new transport adds one line here and
// touches nothing else outside its own package; a MESSAGING_TYPE missing
// here stops the service with exit status 2 and a message listing the ones
// present.
func transports() map[string]host.TransportFactory {
	return map[string]host.TransportFactory{
		rabbitmq.MessagingType: rabbitmq.FromEnv,
		sqs.MessagingType:      sqs.FromEnv,
	}
}
