package rabbitmq

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbitmqServer and rabbitmqctl are the broker's own scripts in Debian's
// rabbitmq-server package (not the wrappers that switch to the rabbitmq
// user, whose HOME holds another Erlang cookie).
const (
	rabbitmqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	rabbitmqctl    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
)

// node is a RabbitMQ node of the test's own (own name, ports, data and
// HOME with its Erlang cookie, under t.TempDir()), for tests that restart a
// broker or set an alarm: the shared broker is never touched.
type node struct {
	t    *testing.T
	name string
	port int
	env  []string
}

// startNode starts a node and stops it when the test ends. It skips
// without the broker's binaries, and fails under CI=true.
func startNode(t *testing.T) *node {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a RabbitMQ node: skipped in -short mode")
	}
	if _, err := os.Stat(rabbitmqServer); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no RabbitMQ server to start a node of the test's own: %v", err)
		}
		t.Skipf("no RabbitMQ server to start a node of the test's own: %v", err)
	}
	dir := t.TempDir()
	port, dist := freePort(t), freePort(t)
	n := &node{t: t, name: fmt.Sprintf("rococo-test-%d@localhost", port), port: port}
	conf := filepath.Join(dir, "rabbitmq.conf")
	plugins := filepath.Join(dir, "enabled_plugins")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", port)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugins, []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.env = append(os.Environ(),
		"HOME="+dir, // the node's Erlang cookie, shared with rabbitmqctl
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_BASE="+dir,
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE="+conf,
		"RABBITMQ_ENABLED_PLUGINS_FILE="+plugins,
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "rabbit.pid"),
		"ERL_EPMD_ADDRESS=127.0.0.1",
	)
	cmd := exec.Command(rabbitmqServer, "-detached")
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start node %s: %v\n%s", n.name, err, out)
	}
	t.Cleanup(func() { _ = n.ctlErr("stop") })
	// The detached node registers with epmd a moment after the script
	// returned.
	deadline := time.Now().Add(90 * time.Second)
	for err := n.ctlErr("await_startup"); err != nil; err = n.ctlErr("await_startup") {
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not start within 90s: %v", n.name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	n.waitAMQP()
	return n
}

// ctl runs rabbitmqctl against the node and fails the test on error.
func (n *node) ctl(args ...string) {
	n.t.Helper()
	if err := n.ctlErr(args...); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) ctlErr(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rabbitmqctl, append([]string{"-n", n.name}, args...)...)
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rabbitmqctl -n %s %s: %w\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return nil
}

// waitAMQP waits until the node accepts AMQP connections.
func (n *node) waitAMQP() {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := amqp.Dial(n.url())
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("node %s: no AMQP connection within 60s: %v", n.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restart stops and starts the node's RabbitMQ application: every
// connection drops, durable queues and persistent messages stay.
func (n *node) restart() {
	n.t.Helper()
	n.ctl("stop_app")
	n.ctl("start_app")
	n.waitAMQP()
}

func (n *node) url() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.port) }

// config returns a transport Config for the node.
func (n *node) config() Config {
	cfg := testConfig()
	cfg.Host, cfg.Port = "127.0.0.1", n.port
	return cfg
}

// admin returns an admin connection to the node.
func (n *node) admin() *admin {
	n.t.Helper()
	conn, err := amqp.Dial(n.url())
	if err != nil {
		n.t.Fatalf("admin dial node: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		n.t.Fatalf("admin channel: %v", err)
	}
	n.t.Cleanup(func() { _ = conn.Close() })
	return &admin{t: n.t, conn: conn, ch: ch}
}
