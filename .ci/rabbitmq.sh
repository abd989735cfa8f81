#!/usr/bin/env bash
# Makes sure RabbitMQ answers at 127.0.0.1:5672 (guest/guest): installs Debian's rabbitmq-server when
# it is missing and starts it bound to 127.0.0.1 when nothing listens there. Idempotent.
set -euo pipefail

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if port_open; then
	echo "rabbitmq: already listening on 127.0.0.1:5672"
	exit 0
fi
if ! command -v rabbitmq-server >/dev/null; then
	echo "rabbitmq: installing Debian's rabbitmq-server"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q rabbitmq-server >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q rabbitmq-server; }
	# The package's service start (where systemd runs) would bind every interface; we start our own.
	rabbitmqctl stop >/dev/null 2>&1 || :
fi
echo "rabbitmq: starting on 127.0.0.1:5672"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	/usr/lib/rabbitmq/bin/rabbitmq-server -detached
else
	rabbitmq-server -detached
fi
for _ in $(seq 120); do
	if port_open; then
		# The port opens a moment before the app accepts connections.
		rabbitmqctl await_startup >/dev/null 2>&1 || :
		echo "rabbitmq: ready"
		exit 0
	fi
	sleep 0.5
done
echo "rabbitmq: error: nothing listens on 127.0.0.1:5672 after 60 s; see /var/log/rabbitmq/" >&2
exit 1
