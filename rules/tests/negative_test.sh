#!/usr/bin/env bash
# Negative tests of rococo_service: fixture services that each break one rule of the service
# layout or the execution environment (docs/service-layout.md, docs/environment.md) must fail with their expected message, and a valid fixture must pass.
#
# It runs Bazel itself on fixture packages written into the workspace (under
# rules/tests/negative/, removed on exit), so it runs OUTSIDE `bazel test` (Bazel cannot run
# inside its own sandbox):
#
#   rules/tests/negative_test.sh            # uses ./tools/bazel
#   BAZEL=bazel rules/tests/negative_test.sh
#
# Loading-time rules (the layout, the env, and the image, push and Kubernetes attributes) are
# checked with one `bazel build --nobuild --keep_going` over every fixture; schedule and env
# values with a build of their :env_check (the runtime's Go validation; for one of them, of its
# :image, which depends on it); a CRON service with
# replicas but no lock with a build of its :k8s (the manifest generator refuses it); what
# loading cannot see (an empty README, a lib the code does not import when the library is
# declared after the rococo_service call) with `bazel test` of the generated layout_test, a typo
# in processor_type with the generated check_test; then `rococo check` on the same fixtures,
# compared with Bazel's verdict and message. Prints one line per case and "N passed, M failed"; exits 1 on any failure.
set -o nounset -o pipefail
ws=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ws"
bazel=${BAZEL:-./tools/bazel}
root=rules/tests/negative
[ -e "$root" ] && { echo "negative_test: $root exists; remove it first" >&2; exit 1; }
out=$(mktemp)
trap 'rm -rf "$ws/$root" "$out" "$out.test" "$out.k8s" "$out.env" "$out.check" "$out.rococo"' EXIT

# fixture NAME [ATTRS...]: a valid CRON service with extra or replacing attribute lines.
fixture() {
	local name=$1
	shift
	local dir=$root/$name
	mkdir -p "$dir/lib"
	printf '# %s\n\nA fixture service for rules/tests/negative_test.sh.\n' "$name" >"$dir/README.md"
	printf 'package main\n\nfunc main() {}\n' >"$dir/processor.go"
	printf '// Package lib is fixture business logic.\npackage lib\n' >"$dir/lib/lib.go"
	cat >"$dir/lib/BUILD.bazel" <<-EOB
	load("@rules_go//go:def.bzl", "go_library")

	go_library(
	    name = "lib",
	    srcs = ["lib.go"],
	    importpath = "github.com/rococo-go/rococo/$dir/lib",
	    visibility = ["//visibility:public"],
	)
	EOB
	local attrs=("$@")
	[ ${#attrs[@]} -gt 0 ] || attrs=('execution_type = "CRON"' 'cron_time_amount = 5' 'cron_time_unit = "minutes"')
	{
		echo 'load("@rules_go//go:def.bzl", "go_library")'
		echo 'load("//rules:defs.bzl", "rococo_service")'
		echo
		echo "go_library(name = \"${name}_lib\", srcs = [\"processor.go\"], importpath = \"github.com/rococo-go/rococo/$dir\", deps = [\"//$dir/lib\"])"
		echo
		echo 'rococo_service('
		echo "    name = \"$name\","
		echo "    embed = [\":${name}_lib\"],"
		echo '    processor_type = "FixtureProcessor",'
		for a in "${attrs[@]}"; do echo "    $a,"; done
		echo ')'
	} >"$dir/BUILD.bazel"
}

cron=('execution_type = "CRON"')
fixture valid
fixture no_processor && rm $root/no_processor/processor.go
fixture no_readme && rm $root/no_readme/README.md
fixture no_lib && rm -r $root/no_lib/lib && sed -i 's|deps = \["//[^"]*"\]|deps = []|' $root/no_lib/BUILD.bazel
fixture lib_no_go && rm $root/lib_no_go/lib/lib.go $root/lib_no_go/lib/BUILD.bazel && echo notes >$root/lib_no_go/lib/NOTES.txt
fixture lib_no_build && rm $root/lib_no_build/lib/BUILD.bazel
fixture lib_not_in_deps && sed -i 's|deps = \["//[^"]*"\]|deps = []|' $root/lib_not_in_deps/BUILD.bazel
fixture bad_execution_type 'execution_type = "BATCH"'
fixture band_with_schedule 'execution_type = "BAND"' 'cron_time_amount = 5'
fixture no_messaging_type 'execution_type = "MESSAGING"'
fixture bad_messaging_type 'execution_type = "MESSAGING"' 'messaging_type = "KafkaConnection"'
fixture bad_unit "${cron[@]}" 'cron_time_amount = 5' 'cron_time_unit = "fortnights"'
fixture zero_amount "${cron[@]}" 'cron_time_amount = 0' 'cron_time_unit = "minutes"'
fixture run_at_not_days "${cron[@]}" 'cron_time_amount = 2' 'cron_time_unit = "hours"' 'cron_run_at = "03:00:00"'
fixture bad_run_at "${cron[@]}" 'cron_time_amount = 1' 'cron_time_unit = "days"' 'cron_run_at = "3am"'
fixture bad_crontab "${cron[@]}" 'cron_expressions = ["0 3 * *"]'
fixture secret_env "${cron[@]}" 'cron_expressions = ["0 3 * * *"]' 'env = {"RABBITMQ_PASSWORD": "guest"}'
fixture no_schedule "${cron[@]}"
fixture cron_without_execution_type 'cron_time_amount = 5' 'cron_time_unit = "minutes"'
fixture startup_not_bool "${cron[@]}" 'cron_time_amount = 5' 'cron_time_unit = "minutes"' 'run_at_startup = "yes"'
# Two problems at once (rococo check reports both too).
fixture two_missing 'execution_type = "MESSAGING"' && sed -i '/processor_type = /d' $root/two_missing/BUILD.bazel
# Caught by the :env_check build action (the runtime's own Go validation of the image's env):
fixture feb_30 "${cron[@]}" 'cron_expressions = ["0 0 30 2 *"]'
fixture tiny_amount "${cron[@]}" 'cron_time_amount = "0.0000001"' 'cron_time_unit = "minutes"'
# Image, push and Kubernetes attributes (rules/private/validate_image.bzl):
attrs=("${cron[@]}" 'cron_time_amount = 5' 'cron_time_unit = "minutes"')
fixture bad_labels "${attrs[@]}" 'labels = {"org.opencontainers.image.version": "2"}'
fixture bad_annotations "${attrs[@]}" 'annotations = {"has space": "x"}'
fixture bad_port "${attrs[@]}" 'exposed_ports = ["80/http"]'
fixture bad_files "${attrs[@]}" 'files = {"README.md": "/tmp/readme.md"}'
fixture files_over_config "${attrs[@]}" 'files = {"README.md": "/app/config.yaml"}' && echo 'greeting: hi' >$root/files_over_config/config.yaml
fixture bad_tars "${attrs[@]}" 'tars = "assets.tar"'
fixture bad_platforms "${attrs[@]}" 'platforms = ["windows/amd64"]'
fixture bad_args "${attrs[@]}" 'args = "--once"'
fixture bad_repository "${attrs[@]}" 'repository = "ghcr.io/acme/x:v1"'
fixture two_repositories "${attrs[@]}" 'repository = "ghcr.io/acme/x"' 'repository_file = "README.md"'
fixture bad_remote_tags "${attrs[@]}" 'remote_tags = ["has space"]'
fixture bad_repo_tags "${attrs[@]}" 'repo_tags = ["nocolon"]'
fixture bad_replicas "${attrs[@]}" 'replicas = 0'
fixture bad_resources "${attrs[@]}" 'resources = {"limits": {"memory": "lots"}}'
fixture bad_pdb 'execution_type = "MESSAGING"' 'messaging_type = "SqsConnection"' 'pod_disruption_budget = {"max_unavailable": "half"}'
# Caught when :k8s is built (the generator knows which schedules a CronJob can run):
fixture replicas_without_lock "${cron[@]}" 'cron_time_amount = 5' 'cron_time_unit = "minutes"' 'replicas = 2'
# Caught by the generated layout_test, not at loading time:
fixture empty_readme && : >$root/empty_readme/README.md
fixture late_lib
# Declare the library after rococo_service, without the lib dependency: loading cannot see it.
sed -i '/^go_library(name = "late_lib_lib"/d' $root/late_lib/BUILD.bazel
echo 'go_library(name = "late_lib_lib", srcs = ["processor.go"], importpath = "github.com/rococo-go/rococo/rules/tests/negative/late_lib")' >>$root/late_lib/BUILD.bazel

# Caught by the generated check_test (the binary with the image's env and --check): a typo in
# processor_type, reported as such and not as the missing queue variable named after it.
fixture processor_typo 'execution_type = "MESSAGING"' 'messaging_type = "RabbitMqConnection"' 'env = {"FixtureProcessor_QUEUE_NAME": "q"}'
sed -i 's|processor_type = "FixtureProcessor"|processor_type = "FixtureProcesor"|; s|deps = \["//\([^"]*\)"\]|deps = ["//\1", "//common", "//rococo"]|' $root/processor_typo/BUILD.bazel
cat >$root/processor_typo/processor.go <<-'EOG'
	package main

	import (
		"context"

		"github.com/rococo-go/rococo/common"
		"github.com/rococo-go/rococo/rococo"
	)

	type FixtureProcessor struct{}

	func (*FixtureProcessor) Process(context.Context, *rococo.Message) error { return nil }

	func main() { common.Main(&FixtureProcessor{}) }
EOG

# host_fixture NAME: the fixture's processor.go runs FixtureProcessor (a message processor)
# through common.Main, so its check_test runs the host's --check.
host_fixture() {
	sed -i 's|deps = \["//\([^"]*\)"\]|deps = ["//\1", "//common", "//rococo"]|' $root/$1/BUILD.bazel
	cat >$root/$1/processor.go <<-'EOG'
	package main

	import (
		"context"

		"github.com/rococo-go/rococo/common"
		"github.com/rococo-go/rococo/rococo"
	)

	type FixtureProcessor struct{}

	func (*FixtureProcessor) Process(context.Context, *rococo.Message) error { return nil }

	func main() { common.Main(&FixtureProcessor{}) }
	EOG
}
# Caught by check_test: the queue variable of another processor name; a queue name SQS refuses.
fixture queue_missing 'execution_type = "MESSAGING"' 'messaging_type = "RabbitMqConnection"' 'env = {"OtherProcessor_QUEUE_NAME": "q"}'
host_fixture queue_missing
fixture sqs_queue 'execution_type = "MESSAGING"' 'messaging_type = "SqsConnection"' 'env = {"AWS_REGION": "us-east-1", "FixtureProcessor_QUEUE_NAME": "fixture sq!"}'
host_fixture sqs_queue
# Caught by check_test: a main that never runs the host ignores --check and exits 0.
fixture no_host

"$bazel" build --nobuild --keep_going "//$root/..." >"$out" 2>&1
"$bazel" build --keep_going "//$root/replicas_without_lock:k8s" >"$out.k8s" 2>&1
envchecks=()
for c in bad_unit zero_amount run_at_not_days bad_run_at bad_crontab tiny_amount valid; do envchecks+=("//$root/$c:env_check"); done
# The image depends on :env_check: building only the image (or pushing it) runs the check too.
envchecks+=("//$root/feb_30:image")
"$bazel" build --keep_going "${envchecks[@]}" >"$out.env" 2>&1
"$bazel" test --keep_going --test_output=errors "//$root/empty_readme:layout_test" "//$root/late_lib:layout_test" "//$root/valid:layout_test" "//$root/processor_typo:check_test" \
	"//$root/queue_missing:check_test" "//$root/sqs_queue:check_test" "//$root/no_host:check_test" >"$out.test" 2>&1

passed=0
failed=0
# expect CASE FILE MESSAGE: the output FILE holds MESSAGE (fixed string) for CASE.
expect() {
	if grep -qF -- "$3" "$2"; then
		passed=$((passed + 1))
		echo "ok   $1"
	else
		failed=$((failed + 1))
		echo "FAIL $1: no line contains: $3"
	fi
}
p=//$root
expect no_processor "$out" "$p/no_processor:no_processor: processor.go is missing from $root/no_processor. Fix: add $root/no_processor/processor.go"
expect no_readme "$out" "$p/no_readme:no_readme: README.md is missing from $root/no_readme. Fix: add $root/no_readme/README.md"
expect no_lib "$out" "$p/no_lib:no_lib: lib/ is missing from $root/no_lib; the business logic lives in the lib package. Fix: create $root/no_lib/lib/"
expect lib_no_go "$out" "$p/lib_no_go:lib_no_go: $root/lib_no_go/lib/ has no Go files. Fix: put the business logic in $root/lib_no_go/lib/*.go"
expect lib_no_build "$out" "$p/lib_no_build:lib_no_build: $root/lib_no_build/lib/ has Go files but no BUILD.bazel. Fix: run bazel run //:gazelle"
expect lib_not_in_deps "$out" "$p/lib_not_in_deps:lib_not_in_deps: the service's code does not depend on //$root/lib_not_in_deps/lib. Fix: import"
expect bad_execution_type "$out" "$p/bad_execution_type:bad_execution_type: execution_type = \"BATCH\" is not a valid EXECUTION_TYPE; want one of MESSAGING, CRON, BAND. Fix:"
expect band_with_schedule "$out" "$p/band_with_schedule:band_with_schedule: cron_time_amount is set but execution_type is BAND. Fix: remove cron_time_amount (schedule a Band function with s.Every or s.Crontab)"
expect no_messaging_type "$out" "$p/no_messaging_type:no_messaging_type: messaging_type is missing; a MESSAGING service needs a broker. Fix:"
expect bad_messaging_type "$out" "$p/bad_messaging_type:bad_messaging_type: messaging_type = \"KafkaConnection\" is not a valid MESSAGING_TYPE; want one of RabbitMqConnection, SqsConnection. Fix:"
expect bad_unit "$out.env" "$p/bad_unit:bad_unit: the service would exit at start with: invalid CRON_TIME_UNIT=\"fortnights\": want one of seconds, minutes, hours, days, weeks (case-insensitive). Fix: correct cron_time_unit in $root/bad_unit/BUILD.bazel."
expect zero_amount "$out.env" "$p/zero_amount:zero_amount: the service would exit at start with: invalid CRON_TIME_AMOUNT=\"0\": want a positive decimal number such as 5 or 0.5 (fractions allowed). Fix: correct cron_time_amount in $root/zero_amount/BUILD.bazel."
expect run_at_not_days "$out.env" "$p/run_at_not_days:run_at_not_days: the service would exit at start with: invalid CRON_RUN_AT=\"03:00:00\": want no value unless CRON_TIME_UNIT is days (it is \"hours\"). Fix: correct cron_run_at in $root/run_at_not_days/BUILD.bazel."
expect bad_run_at "$out.env" "$p/bad_run_at:bad_run_at: the service would exit at start with: invalid CRON_RUN_AT=\"3am\": want a time of day HH:MM:SS (or HH:MM), 00:00:00 to 23:59:59. Fix: correct cron_run_at in $root/bad_run_at/BUILD.bazel."
expect bad_crontab "$out.env" "$p/bad_crontab:bad_crontab: the service would exit at start with: invalid CRON_EXPRESSIONS=\"0 3 * *\": want comma-separated 5-field crontab expressions"
expect secret_env "$out" "$p/secret_env:secret_env: env key RABBITMQ_PASSWORD looks like a secret (it contains PASSWORD); anyone who can pull the image could read it. Fix: remove RABBITMQ_PASSWORD from env"
expect no_schedule "$out" "$p/no_schedule:no_schedule: a CRON service needs a schedule. Fix:"
expect cron_without_execution_type "$out" "$p/cron_without_execution_type:cron_without_execution_type: cron_time_amount is set but execution_type is not, and a service without execution_type is MESSAGING. Fix: set execution_type = \"CRON\" to run on that schedule."
expect feb_30 "$out.env" "$p/feb_30:feb_30: the service would exit at start with: invalid CRON_EXPRESSIONS=\"0 0 30 2 *\": want comma-separated 5-field crontab expressions (minute hour day-of-month month day-of-week), e.g. \"*/5 * * * *,0 3 * * mon-fri\" (\"0 0 30 2 *\": never fires). Fix: correct cron_expressions in $root/feb_30/BUILD.bazel."
expect tiny_amount "$out.env" "$p/tiny_amount:tiny_amount: the service would exit at start with: invalid CRON_TIME_AMOUNT=\"0.0000001\": want a positive number giving an interval of at least 1ms. Fix: correct cron_time_amount in $root/tiny_amount/BUILD.bazel."
expect bad_labels "$out" "$p/bad_labels:bad_labels: labels sets org.opencontainers.image.version, which the rule sets from the version attribute. Fix: remove org.opencontainers.image.version from labels."
expect bad_annotations "$out" "$p/bad_annotations:bad_annotations: annotations key \"has space\" is not a label key. Fix:"
expect bad_port "$out" "$p/bad_port:bad_port: exposed_ports: \"80/http\": the protocol must be tcp, udp or sctp. Fix:"
expect bad_files "$out" "$p/bad_files:bad_files: files: README.md goes to /tmp/readme.md, under /tmp, which Kubernetes mounts an empty volume over. Fix: put it under /app or /etc."
expect files_over_config "$out" "$p/files_over_config:files_over_config: files: README.md goes to /app/config.yaml, where rococo_service ships the service's own config.yaml. Fix:"
expect bad_tars "$out" "$p/bad_tars:bad_tars: tars = \"assets.tar\" is not a list of tar files. Fix:"
expect bad_platforms "$out" "$p/bad_platforms:bad_platforms: platforms: \"windows/amd64\" is not a supported platform. Fix: use some of linux/amd64, linux/arm64"
expect bad_args "$out" "$p/bad_args:bad_args: args = \"--once\" is not a list of strings. Fix:"
expect bad_repository "$out" "$p/bad_repository:bad_repository: repository = \"ghcr.io/acme/x:v1\" holds a tag. Fix:"
expect two_repositories "$out" "$p/two_repositories:two_repositories: repository and repository_file are both set. Fix: keep one of them."
expect bad_remote_tags "$out" "$p/bad_remote_tags:bad_remote_tags: remote_tags: \"has space\" is not an image tag. Fix:"
expect bad_repo_tags "$out" "$p/bad_repo_tags:bad_repo_tags: repo_tags: \"nocolon\" is not REPOSITORY:TAG. Fix:"
expect bad_replicas "$out" "$p/bad_replicas:bad_replicas: replicas = 0 is not a whole number of at least 1. Fix:"
expect bad_resources "$out" "$p/bad_resources:bad_resources: resources limits memory: \"lots\" is not a quantity. Fix:"
expect bad_pdb "$out" "$p/bad_pdb:bad_pdb: pod_disruption_budget max_unavailable = \"half\" is neither a count nor a percentage. Fix:"
expect replicas_without_lock "$out.k8s" "service $p/replicas_without_lock:replicas_without_lock: replicas = 2 for a CRON service without a lock: every replica would run every schedule; set messaging_type = \"RabbitMqConnection\""
expect empty_readme "$out.test" "$p/empty_readme:empty_readme: $root/empty_readme/README.md is empty. Fix:"
expect processor_typo "$out.test" "$p/processor_typo:processor_typo: the service binary refuses the image's env in check mode: invalid PROCESSOR_TYPE=\"FixtureProcesor\": want a processor of this service: FixtureProcessor. Fix: correct the attribute or env entry it names in $root/processor_typo/BUILD.bazel"
expect queue_missing "$out.test" "$p/queue_missing:queue_missing: the service binary refuses the image's env in check mode: missing FixtureProcessor_QUEUE_NAME: want the name of the queue to consume"
expect sqs_queue "$out.test" "$p/sqs_queue:sqs_queue: the service binary refuses the image's env in check mode: invalid FixtureProcessor_QUEUE_NAME=\"fixture sq!\""
expect no_host "$out.test" "$p/no_host:no_host: the service binary exited 0 with --check without printing \"check: ok: ...\": its main never runs the Rococo host"
expect startup_not_bool "$out" "$p/startup_not_bool:startup_not_bool: run_at_startup = \"yes\" is not a bool. Fix: set run_at_startup = True or False."
expect two_missing "$out" "$p/two_missing:two_missing: processor_type is missing; the runtime picks the processor by this name. Fix:"
expect two_missing "$out" "$p/two_missing:two_missing: messaging_type is missing; a MESSAGING service needs a broker. Fix:"
expect late_lib "$out.test" "$p/late_lib:late_lib: the service's code does not depend on //$root/late_lib/lib. Fix:"
# Controls: the valid fixture loads and its layout test passes; each broken one fails alone.
if grep -q "package contains errors: $root/valid\b" "$out" || ! grep -qE "//$root/valid:layout_test .*PASSED" "$out.test" || grep -qF "$p/valid:valid: " "$out.env"; then
	failed=$((failed + 1))
	echo "FAIL valid: the valid fixture did not pass"
else
	passed=$((passed + 1))
	echo "ok   valid"
fi
# The same fixtures through `rococo check` (no Bazel): it must fail exactly those Bazel fails,
# and report the runtime's own message for the values :env_check refuses. Not compared: what
# needs compiled code (lib_not_in_deps, late_lib, no_host) and the image, push and Kubernetes
# attributes, which rococo check does not read. processor_typo, queue_missing and sqs_queue
# (check_test) are compared: rococo check reads the processor types from processor.go.
go build -o "$out.rococo" ./tools/rococo
for c in valid no_processor no_readme no_lib lib_no_go lib_no_build bad_execution_type band_with_schedule \
	no_messaging_type bad_messaging_type bad_unit zero_amount run_at_not_days bad_run_at bad_crontab \
	secret_env no_schedule cron_without_execution_type feb_30 tiny_amount empty_readme \
	startup_not_bool two_missing processor_typo queue_missing sqs_queue; do
	checked=0
	"$out.rococo" check "$root/$c" >"$out.check" 2>&1 || checked=1
	bazeled=0
	grep -qF "$p/$c:$c: " "$out" "$out.env" "$out.test" && bazeled=1
	[ "$c" = two_missing ] && [ "$(grep -c "^$root/$c/BUILD.bazel:" "$out.check")" != 2 ] && checked=wrong_count
	same=1
	if [ "$bazeled" = 1 ] && grep -qF "$p/$c:$c: the service would exit at start" "$out.env"; then
		want=$(grep -oF "$p/$c:$c: the service would exit at start" "$out.env" >/dev/null && grep -o "$p/$c:$c: the service would exit at start.*" "$out.env" | head -1 | sed "s|^$p/$c:$c: ||")
		grep -qF -- "$want" "$out.check" || same=0
	fi
	if [ "$checked" = "$bazeled" ] && [ "$same" = 1 ]; then
		passed=$((passed + 1))
		echo "ok   rococo check $c"
	else
		failed=$((failed + 1))
		echo "FAIL rococo check $c: rococo check failed=$checked, bazel failed=$bazeled, same message=$same:"
		cat "$out.check"
	fi
done

if [ "$failed" -gt 0 ]; then
	echo "--- bazel build output:"
	cat "$out"
	echo "--- bazel test output:"
	cat "$out.test"
	echo "--- bazel build :k8s output:"
	cat "$out.k8s"
	echo "--- bazel build :env_check output:"
	cat "$out.env"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
