// Package transporttest provides the contract test suite that every
// rococo.Transport runs: Run(t, newTransport, features) checks publishing,
// consuming, acknowledging, delayed retries, dead-lettering, the prefetch
// bound, shutdown and EXIT_WHEN_FINISHED against one implementation.
//
// The suite is written for real, shared brokers: every subtest uses queues
// of its own (see QueueName) and every wait is bounded by Features.Timeout.
package transporttest
