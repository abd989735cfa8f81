// Package gateway is Band's front: it takes hits over HTTP at
// /<service>/<name>, builds the event (bus.Event) from each, has the
// matching enrichers add their data under one deadline, calls the
// service's handler over the bus, publishes the enriched event to the
// listeners with publisher confirms, and answers with what the handler
// answered. services/front runs it; see README.md.
package gateway
