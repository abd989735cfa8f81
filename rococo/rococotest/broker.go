package rococotest

import (
	"net"
	"os"
	"testing"
	"time"
)

// dialTimeout bounds how long RequireBroker waits for a broker to accept a
// TCP connection.
const dialTimeout = 2 * time.Second

// RequireBroker dials addr (host:port, TCP) and ends the test when nothing
// accepts the connection within 2 seconds: t.Skip on a developer machine,
// t.Fatal when the environment variable CI is "true", so a broker missing
// on CI fails the build instead of silently skipping its tests.
func RequireBroker(t testing.TB, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("broker at %s not reachable (CI=true): %v", addr, err)
		return
	}
	t.Skipf("broker at %s not reachable, skipping: %v", addr, err)
}
