#!/usr/bin/env bash
# Tests of the launcher (tools/bazel) that need a Bazel: run from the workspace by tools/test.
#
#   - `bazel run` with a startup option whose value is the next argument runs the target on the
#     host with the caller's environment (CI included), which wins over the target's baked env;
#   - `bazel-bin` and `bazel info bazel-bin` resolve on the host after a build;
#   - a .bazelversion the private Bazel cannot honour fails with a message naming both versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail() {
	printf 'tools/bazel_test.sh: FAIL: %s\n' "$*" >&2
	exit 1
}

# On the host, the target keeps the caller's PATH; inside Bazel's namespace it would get the root's.
out=$(PATH="/rococo-test-path:$PATH" BAKED=mine CI=true ./tools/bazel --bazelrc /dev/null run //rules/tests/runenv:run -- BAKED QUOTED CI PATH 2>/dev/null)
want="BAKED=mine
QUOTED=it's \"q\" \$HOME
CI=true
PATH=/rococo-test-path:$PATH"
[ "$out" = "$want" ] || fail "bazel run: got $(printf '%q' "$out"), want $(printf '%q' "$want")"
echo "ok: bazel --bazelrc /dev/null run: runs on the host, the caller's env wins, CI kept"

[ -x bazel-bin/rules/tests/runenv/run ] || fail "bazel-bin/rules/tests/runenv/run is not on the host: $(ls -ld bazel-bin 2>&1)"
bin=$(./tools/bazel info bazel-bin 2>/dev/null)
[ -x "$bin/rules/tests/runenv/run" ] || fail "bazel info bazel-bin ($bin) does not resolve on the host"
testlogs=$(./tools/bazel info bazel-testlogs 2>/dev/null)
[ "$(readlink -f bazel-testlogs)" = "$(readlink -f "$testlogs")" ] || fail "bazel-testlogs and bazel info bazel-testlogs differ"
echo "ok: bazel-bin and bazel info bazel-bin resolve on the host ($bin)"

# A copy of the launcher in a workspace that asks for another major version.
if [ "$(id -u)" = 0 ] && ! command -v bazel >/dev/null; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/tools"
	cp tools/bazel "$tmp/tools/bazel"
	cp MODULE.bazel go.mod go.sum "$tmp/"
	echo 99.0.0 >"$tmp/.bazelversion"
	if msg=$("$tmp/tools/bazel" info release 2>&1); then fail ".bazelversion 99.0.0 was not refused: $msg"; fi
	case "$msg" in *".bazelversion asks for Bazel 99.0.0, but the private Bazel is 7."*) ;; *) fail ".bazelversion 99.0.0: unexpected message: $msg" ;; esac
	echo "ok: .bazelversion 99.0.0 refused by the private Bazel"
fi
echo "tools/bazel_test.sh: all passed"
