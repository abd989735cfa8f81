#!/usr/bin/env bash
# Provides a boto3 that speaks SQS's JSON protocol for rococo/sqs's boto3 interop test
# (TestBoto3Interop). Debian bookworm's python3-boto3 (1.26) speaks only the query protocol,
# which fauxqs does not serve; trixie's python3-boto3, python3-botocore and python3-s3transfer
# (1.37, pure Python) run on bookworm's python3 and speak JSON.
#
#   bash .ci/boto3.sh        download and unpack when missing; print the PYTHONPATH to use
#
# The three .debs are fetched with apt-get download from a trixie source list in a private
# apt directory (nothing changes in the machine's own apt configuration or package set), then
# unpacked with dpkg-deb -x into $BOTO3_DIR (default /var/cache/rococo/boto3). Their
# dependencies that bookworm has in versions botocore accepts (python3-dateutil,
# python3-jmespath, python3-requests, python3-urllib3) are installed from bookworm when missing.
#
# Use:  export PYTHONPATH=$(bash .ci/boto3.sh)
set -o errexit -o nounset -o pipefail

DEST=${BOTO3_DIR:-/var/cache/rococo/boto3}
SITE=$DEST/usr/lib/python3/dist-packages
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(python3-boto3 python3-botocore python3-s3transfer)
CHECK='import sys, boto3; v = tuple(int(x) for x in boto3.__version__.split(".")[:2]); sys.exit(0 if v >= (1, 34) else 1)'

say() { echo "boto3.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

works() { PYTHONPATH=$SITE /usr/bin/python3 -c "$CHECK" 2>/dev/null; }

if ! /usr/bin/python3 -c 'import dateutil, jmespath, requests, urllib3' 2>/dev/null; then
	say "installing python3-dateutil python3-jmespath python3-requests python3-urllib3 (bookworm)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q python3-dateutil python3-jmespath python3-requests python3-urllib3 >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q python3-dateutil python3-jmespath python3-requests python3-urllib3 >/dev/null; } ||
		die "could not install boto3's dependencies"
fi

if ! works; then
	apt_dir=$(mktemp -d)
	trap 'rm -rf "$apt_dir"' EXIT
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$apt_dir/sources.list"
	opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -o "APT::Get::List-Cleanup=0")
	say "fetching trixie's package lists from $MIRROR (private apt directory $apt_dir)"
	apt-get "${opts[@]}" update -q >/dev/null || die "apt-get update of trixie's lists failed"
	(cd "$apt_dir/debs" && apt-get "${opts[@]}" download "${PACKAGES[@]}" >/dev/null) ||
		die "apt-get download ${PACKAGES[*]} failed"
	rm -rf "$DEST.new" && mkdir -p "$DEST.new"
	for deb in "$apt_dir"/debs/*.deb; do
		say "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$DEST.new"
	done
	rm -rf "$DEST" && mv "$DEST.new" "$DEST"
	works || die "boto3 unpacked into $DEST does not import with /usr/bin/python3 and PYTHONPATH=$SITE"
fi
say "boto3 $(PYTHONPATH=$SITE /usr/bin/python3 -c 'import boto3; print(boto3.__version__)') at $SITE"
echo "$SITE"
