package rabbitmq

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// pikaScript does what Python rococo's RabbitMqConnection does, with pika:
// it declares the queue durable, reads one message (basic_qos 1, manual
// ack, json.loads of the body) and prints it with the properties it relies
// on, then send_message()s a reply the way rococo does (json.dumps body,
// delivery_mode=2, default exchange, routing key = queue).
const pikaScript = `
import json, sys, pika
q = sys.argv[1]
conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=5672, virtual_host="/", credentials=pika.PlainCredentials("guest", "guest")))
ch = conn.channel()
ch.queue_declare(queue=q, durable=True)
ch.basic_qos(prefetch_count=1)
for method, props, body in ch.consume(q, inactivity_timeout=10):
    if method is None:
        sys.exit("no message within 10s")
    print(json.dumps({"body": json.loads(body), "delivery_mode": props.delivery_mode, "content_type": props.content_type, "exchange": method.exchange, "routing_key": method.routing_key}))
    ch.basic_ack(method.delivery_tag)
    break
ch.cancel()
ch.basic_publish(exchange="", routing_key=q, body=json.dumps({"from": "python", "n": 2}), properties=pika.BasicProperties(delivery_mode=2))
conn.close()
`

// pythonWithPika returns a python3 that can import pika, or skips: PyPI is
// not reachable here, pika comes from Debian's python3-pika, which .ci/run
// installs, so under CI=true a missing pika fails the test.
func pythonWithPika(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import pika").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no python3 with pika under CI=true (.ci/run installs Debian's python3-pika)")
	}
	t.Skip("no python3 with pika (apt-get install python3-pika)")
	return ""
}

// TestPikaInterop exchanges messages with a real pika client both ways.
func TestPikaInterop(t *testing.T) {
	py := pythonWithPika(t)
	tr := newTransport(t, testConfig())
	q := queueName(t)
	ctx := ctxTimeout(t, 60*time.Second)
	if err := tr.Publish(ctx, q, &rococo.Message{Body: []byte(`{"from":"go","n":1}`)}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, py, "-c", pikaScript, q)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("pika script: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("pika script: %v", err)
	}
	var got struct {
		Body         map[string]any `json:"body"`
		DeliveryMode int            `json:"delivery_mode"`
		ContentType  string         `json:"content_type"`
		Exchange     string         `json:"exchange"`
		RoutingKey   string         `json:"routing_key"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pika output %q: %v", out, err)
	}
	if got.Body["from"] != "go" || got.DeliveryMode != 2 || got.ContentType != "application/json" || got.Exchange != "" || got.RoutingKey != q {
		t.Errorf("pika read %+v", got)
	}

	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := receive(t, dels)
	var v struct {
		From string
		N    int
	}
	if err := d.Message().Decode(&v); err != nil || v.From != "python" || v.N != 2 || d.Message().Attempt != 1 {
		t.Errorf("Go read %+v (attempt %d), %v", v, d.Message().Attempt, err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}
