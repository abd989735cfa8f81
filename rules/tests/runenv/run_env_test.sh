#!/usr/bin/env bash
# rococo_run_binary (the `bazel run //services/<name>` target): the binary's baked env is a default;
# a variable set by the caller wins, an empty one included; values with quotes and spaces survive.
set -o errexit -o nounset -o pipefail
run=$1
fail() {
	printf 'FAIL: %s\n' "$1" >&2
	exit 1
}
expect() {
	local got=$1 want=$2 what=$3
	[[ "$got" == "$want" ]] || fail "$what: got $(printf '%q' "$got"), want $(printf '%q' "$want")"
}

unset BAKED QUOTED OTHER || :
out=$("$run" BAKED QUOTED OTHER)
expect "$out" "BAKED=baked
QUOTED=it's \"q\" \$HOME
OTHER unset" "no caller env: the baked values"

out=$(BAKED=mine OTHER=x "$run" BAKED QUOTED OTHER)
expect "$out" "BAKED=mine
QUOTED=it's \"q\" \$HOME
OTHER=x" "caller's BAKED wins"

out=$(BAKED= "$run" BAKED)
expect "$out" "BAKED=" "an empty caller value wins too"

# The config files are linked into the working directory `bazel run` uses (the runfiles root).
[[ -f "$RUNFILES_DIR/_main/config.yaml" ]] || fail "config.yaml is not in the runfiles root"
echo "PASS: rococo_run_binary: caller's env wins over baked values"
