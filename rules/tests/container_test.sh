#!/usr/bin/env bash
# Runs the example services' images in a real container (util-linux unshare through
# //tools/runimage: new mount and PID namespaces, chroot into the image's filesystem, the
# image's env, working directory and user 65532:65532) and checks that:
#   - cleanup_cron (CRON) prints the banner and runs as uid/gid 65532, with only loopback;
#   - report_sqs starts and prints its banner;
#   - email_rabbitmq (MESSAGING, host network) processes a message published to the real
#     RabbitMQ at 127.0.0.1:5672 and exits 0 on SIGTERM;
#   - geo_band (BAND, host network, 127.0.0.1 only) reads the config.yaml shipped in its image,
#     turns ready and answers a handler request over HTTP, then exits 0 on SIGTERM.
# Needs root and RabbitMQ; runs OUTSIDE `bazel test` (it runs Bazel and containers itself):
#
#   rules/tests/container_test.sh        (BAZEL=bazel to use another Bazel)
#
# Prints one line per check and "N passed, M failed"; exits 1 on any failure.
set -o nounset -o pipefail
ws=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ws"
bazel=${BAZEL:-./tools/bazel}
[ "$(id -u)" = 0 ] || { echo "container_test: needs root (unshare --root)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
queue="rococo_container_test_$$"
# ours PATTERN: the ids of the runimage processes started here whose command line has PATTERN.
ours() { pgrep -f -- "runimage.*--keep $tmp/$1" || :; }
cleanup() {
	for p in $(ours "") "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	command -v rabbitmqctl >/dev/null && for q in $(rabbitmqctl -q list_queues name 2>/dev/null | grep "^$queue"); do
		rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check NAME CONDITION-STATUS DETAIL
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $1"
	else
		failed=$((failed + 1))
		echo "FAIL $1: $3"
	fi
}
# wait_for FILE PATTERN SECONDS: bounded wait for PATTERN (extended regexp) in FILE.
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

"$bazel" build //services/... //tools/runimage >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
bin=$("$bazel" info bazel-bin 2>/dev/null)
# runimage NAME ARGS...: runs the service's image in the background, output in $tmp/NAME.out.
runimage() {
	local name=$1
	shift
	"$bazel" run //tools/runimage -- --layout "$bin/services/$name/image" --keep "$tmp/$name.rootfs" "$@" \
		>"$tmp/$name.out" 2>&1 &
	pids+=($!)
}

# 1. CRON image, no network: banner and the service's process credentials.
runimage cleanup_cron
wait_for "$tmp/cleanup_cron.out" "cleanup_cron running at version: 1.0.0" 60
check "cleanup_cron prints the banner" $? "$(head -c 2000 "$tmp/cleanup_cron.out")"
wait_for "$tmp/cleanup_cron.out" 'msg="cron run finished"' 10
check "cleanup_cron runs its processor at startup" $? "no 'cron run finished' in the output"
# The service is the child of the unshare that uses this run's rootfs.
ns=$(pgrep -f -- "^unshare .*--root=$tmp/cleanup_cron.rootfs " | head -1)
pid=$(pgrep -P "${ns:-0}" | head -1)
uids=$(awk '/^Uid:|^Gid:/ {print $1, $2, $3, $4, $5}' "/proc/${pid:-0}/status" 2>/dev/null | tr '\n' ' ')
[ "$uids" = "Uid: 65532 65532 65532 65532 Gid: 65532 65532 65532 65532 " ]
check "cleanup_cron runs as 65532:65532 (not root)" $? "process ${pid:-none}: $uids"
echo "     process $pid: $uids"

# 2. The SQS image starts (its broker is not reachable from an empty network namespace).
runimage report_sqs
wait_for "$tmp/report_sqs.out" "report_sqs running at version: 1.0.0" 60
check "report_sqs prints the banner" $? "$(head -c 2000 "$tmp/report_sqs.out")"

# 3. MESSAGING image on the host network against the real RabbitMQ.
runimage email_rabbitmq --net host -e "EmailServiceProcessor_QUEUE_NAME=$queue" \
	-e EMAIL_OUTBOX_FILE=/tmp/outbox.jsonl -e HEALTH_PORT=0 -e RABBITMQ_HOST=127.0.0.1
email_pid=${pids[-1]}
wait_for "$tmp/email_rabbitmq.out" "email_rabbitmq running at version: 1.0.0" 60
check "email_rabbitmq prints the banner" $? "$(head -c 2000 "$tmp/email_rabbitmq.out")"
wait_for "$tmp/email_rabbitmq.out" "consum" 30 || echo "     (no consuming log line seen; publishing anyway)"

# Publish as Python's send_message does: JSON, persistent, default exchange, routing key = queue.
mkdir -p "$tmp/send"
cat >"$tmp/send/go.mod" <<'EOF'
module send

go 1.26

require github.com/rabbitmq/amqp091-go v1.16.0
EOF
grep "rabbitmq/amqp091-go" go.sum >"$tmp/send/go.sum"
cat >"$tmp/send/main.go" <<'EOF'
package main

import (
	"context"
	"log"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = ch.PublishWithContext(ctx, "", os.Args[1], false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(os.Args[2]),
	})
	if err != nil {
		log.Fatal(err)
	}
}
EOF
body='{"id": "container-test-1", "to": "ann@example.com", "subject": "Welcome", "body": "Hello Ann"}'
(cd "$tmp/send" && GOFLAGS=-mod=mod GOPROXY=off go run . "$queue" "$body") >"$tmp/send.log" 2>&1
check "message published to $queue" $? "$(cat "$tmp/send.log")"
outbox="$tmp/email_rabbitmq.rootfs/tmp/outbox.jsonl"
wait_for "$outbox" "container-test-1" 30
check "email_rabbitmq processed the message (outbox written by the container)" $? "outbox: $(cat "$outbox" 2>/dev/null); log: $(tail -5 "$tmp/email_rabbitmq.out")"
echo "     outbox: $(cat "$outbox" 2>/dev/null)"
echo "     owner of the outbox: $(stat -c %u:%g "$outbox" 2>/dev/null)"
# SIGTERM to runimage, which forwards it to the service; the drain is bounded.
for p in $(ours email_rabbitmq.rootfs); do kill -TERM "$p"; done
for ((i = 0; i < 300; i++)); do kill -0 "$email_pid" 2>/dev/null || break; sleep 0.1; done
grep -qE '"msg":"exiting","status":0|msg=exiting status=0' "$tmp/email_rabbitmq.out"
check "email_rabbitmq exits 0 on SIGTERM" $? "$(tail -5 "$tmp/email_rabbitmq.out")"

# 4. BAND image on the host network, listening on 127.0.0.1 only: a handler answers.
port=$((20000 + $$ % 20000))
runimage geo_band --net host -e "HEALTH_ADDR=127.0.0.1:$port"
band_pid=${pids[-1]}
wait_for "$tmp/geo_band.out" "geo_band running at version: 1.0.0" 60
check "geo_band prints the banner" $? "$(head -c 2000 "$tmp/geo_band.out")"
grep -qE 'execution_type=BAND|"execution_type":"BAND"' "$tmp/geo_band.out"
check "geo_band runs with EXECUTION_TYPE=BAND from the image" $? "$(head -5 "$tmp/geo_band.out")"
wait_for "$tmp/geo_band.out" 'msg="band settings loaded" files=\[config.yaml\]|"msg":"band settings loaded","files":\["config.yaml"\]' 10
check "geo_band reads the config.yaml shipped in the image" $? "$(grep -m1 'band settings' "$tmp/geo_band.out")"
for ((i = 0; i < 100; i++)); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
	sleep 0.1
done
answer=$(curl -s --max-time 5 "http://127.0.0.1:$port/lookup/192.0.2.1")
[ "$answer" = '{"ip":"192.0.2.1","found":true,"country":"FR","city":"Paris"}' ]
check "geo_band answers GET /lookup/192.0.2.1 from the container" $? "answer: $answer; log: $(tail -5 "$tmp/geo_band.out")"
echo "     answer: $answer"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/lookup/not-an-ip")
[ "$code" = 400 ]
check "geo_band answers a bad address with 400" $? "status $code"
for p in $(ours geo_band.rootfs); do kill -TERM "$p"; done
for ((i = 0; i < 300; i++)); do kill -0 "$band_pid" 2>/dev/null || break; sleep 0.1; done
grep -qE 'msg="cleanup done".*flush_hits|"msg":"cleanup done".*flush_hits' "$tmp/geo_band.out" &&
	grep -qE '"msg":"exiting","status":0|msg=exiting status=0' "$tmp/geo_band.out"
check "geo_band exits 0 on SIGTERM after its cleanup" $? "$(tail -5 "$tmp/geo_band.out")"

if [ "$failed" -gt 0 ]; then
	for f in "$tmp"/*.out; do echo "--- $f"; tail -30 "$f"; done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
