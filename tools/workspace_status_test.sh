#!/usr/bin/env bash
# Tests tools/workspace_status.sh in a scratch git repository: the tree state is clean for a
# committed tree, dirty with a modified tracked file and dirty with an untracked file (a build
# can read it). Run by ./tools/test; prints "N passed, M failed".
set -o nounset -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT
mkdir -p "$repo/tools"
cp "$here/workspace_status.sh" "$repo/tools/"
git -C "$repo" init -q
git -C "$repo" -c user.name=t -c user.email=t@example.invalid commit -q --allow-empty -m init
echo a >"$repo/a.txt"
git -C "$repo" add a.txt tools
git -C "$repo" -c user.name=t -c user.email=t@example.invalid commit -q -m files
passed=0
failed=0
state() { "$repo/tools/workspace_status.sh" | sed -n 's/^STABLE_GIT_TREE_STATE //p'; }
expect() { # expect CASE WANT
	got=$(state)
	if [ "$got" = "$2" ]; then
		passed=$((passed + 1))
		echo "ok   $1: $got"
	else
		failed=$((failed + 1))
		echo "FAIL $1: STABLE_GIT_TREE_STATE = '$got', want '$2'"
	fi
}
expect "committed tree" clean
echo new >"$repo/untracked.go"
expect "untracked file" dirty
rm "$repo/untracked.go"
echo b >"$repo/a.txt"
expect "modified file" dirty
git -C "$repo" checkout -q a.txt
expect "restored" clean
if [[ "$("$repo/tools/workspace_status.sh")" =~ STABLE_GIT_COMMIT\ [0-9a-f]{40} ]]; then
	passed=$((passed + 1))
	echo "ok   commit"
else
	failed=$((failed + 1))
	echo "FAIL commit: no STABLE_GIT_COMMIT line"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
