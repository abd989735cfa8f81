package sqs

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// boto3Script does what Python rococo's SqsConnection does with boto3: it
// gets or creates the queue, then either sends a message with
// MessageBody=json.dumps(message) ("send") or receives one message with long
// polling, json.loads its body, prints it and deletes it ("receive").
const boto3Script = `
import json, sys, boto3
endpoint, queue, mode = sys.argv[1], sys.argv[2], sys.argv[3]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
try:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
except sqs.exceptions.QueueDoesNotExist:
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
if mode == "send":
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"report_id": "py-1", "title": "Zo\u00eb", "rows": [{"label": "a", "value": 1.5}]}))
else:
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, MaxNumberOfMessages=1, MessageAttributeNames=["All"]).get("Messages", [])
    if not msgs:
        sys.exit("no message within 10s")
    m = msgs[0]
    print(json.dumps({"body": json.loads(m["Body"]), "attributes": {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()}}))
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
`

// pythonWithBoto3 returns a python3 whose boto3 speaks SQS's JSON protocol
// (boto3 >= 1.34; fauxqs does not serve the older query protocol), or skips,
// and fails with CI=true: .ci/run provides one (.ci/boto3.sh, on
// PYTHONPATH).
func pythonWithBoto3(t *testing.T) string {
	t.Helper()
	const check = `import sys, boto3; v = tuple(int(x) for x in boto3.__version__.split(".")[:2]); sys.exit(0 if v >= (1, 34) else 1)`
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", check).Run() == nil {
			return path
		}
	}
	const missing = "no python3 with boto3 >= 1.34 (export PYTHONPATH=$(bash .ci/boto3.sh), or pip install boto3)"
	if os.Getenv("CI") == "true" {
		t.Fatal(missing + " (CI=true)")
	}
	t.Skip(missing)
	return ""
}

// TestBoto3Interop exchanges messages with a real boto3 client both ways,
// as Python rococo sends and receives them.
func TestBoto3Interop(t *testing.T) {
	ep := testEndpoint(t)
	py := pythonWithBoto3(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	ctx := testCtx(t)

	// Python -> Go.
	if out, err := exec.CommandContext(ctx, py, "-c", boto3Script, ep, q, "send").CombinedOutput(); err != nil {
		t.Fatalf("boto3 send: %v\n%s", err, out)
	}
	ch, cancel := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "message sent by boto3")
	var req struct {
		ReportID string `json:"report_id"`
		Title    string `json:"title"`
		Rows     []struct {
			Label string  `json:"label"`
			Value float64 `json:"value"`
		} `json:"rows"`
	}
	if err := d.Message().Decode(&req); err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if req.ReportID != "py-1" || req.Title != "Zoë" || len(req.Rows) != 1 || req.Rows[0].Value != 1.5 {
		t.Errorf("decoded %+v", req)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()

	// Go -> Python.
	if err := tr.Publish(ctx, q, &rococo.Message{Body: []byte(`{"from":"go","n":2}`), Headers: map[string]string{"trace-id": "t-9"}}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, py, "-c", boto3Script, ep, q, "receive").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("boto3 receive: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("boto3 receive: %v", err)
	}
	var got struct {
		Body       map[string]any    `json:"body"`
		Attributes map[string]string `json:"attributes"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if got.Body["from"] != "go" || got.Body["n"] != 2.0 {
		t.Errorf("boto3 read body %v, want the JSON published by Go", got.Body)
	}
	if got.Attributes["trace-id"] != "t-9" {
		t.Errorf("boto3 read attributes %v, want trace-id=t-9", got.Attributes)
	}
	requireEmpty(t, tr, q)
}
