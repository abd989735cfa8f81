// Package leader provides leader election for the replicas of a service:
// of several processes sharing a Lock, one at a time runs the work (a cron
// service's schedule), the others stand by and take over when the leader's
// lease is lost.
//
// A Lock is something the service already has: rabbitmq's transport
// configuration implements Locker with an exclusive queue, which the broker
// gives to one connection at a time and deletes as soon as that connection
// closes (a killed process's socket closes at once; a frozen host's
// connection after the AMQP heartbeat timeout). Run tries to take the lock
// every Options.RetryInterval while another process holds it, so a standby
// takes over within about RetryInterval of the leader's connection closing.
//
// The lease is checked before each run of the work (Lease.Check, a round trip
// to whatever holds the lock), so a leader cut off from the lock stops before
// it starts another run instead of running beside its successor.
package leader
