#!/usr/bin/env bash
# Bazel workspace status (.bazelrc runs it on every build; read only with --stamp or --config=release):
# rococo_service puts STABLE_GIT_COMMIT into the binary (common/version.Commit, printed in the
# banner) and into the image label org.opencontainers.image.revision; the image's created time
# comes from Bazel's own BUILD_TIMESTAMP. Without --stamp none of this is read and images keep
# fixed values, so unstamped builds are reproducible and cache well.
#
# Works without a git binary (Bazel's private root has none): the commit is then read from
# .git directly. Prints nothing for a value it cannot get (no repository, no commit yet): the
# binary keeps its default and the image leaves the label out.
set -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# commit_from_dotgit prints the commit HEAD points at, read from .git without git.
commit_from_dotgit() {
	local head ref
	[ -f .git/HEAD ] || return 1
	read -r head <.git/HEAD || return 1
	case "$head" in
	"ref: "*)
		ref=${head#ref: }
		if [ -f ".git/$ref" ]; then
			read -r head <".git/$ref" || return 1
		else
			head=$(grep " $ref\$" .git/packed-refs 2>/dev/null | cut -d' ' -f1)
		fi
		;;
	esac
	[ ${#head} -ge 40 ] && echo "$head"
}

if command -v git >/dev/null 2>&1 && commit=$(git rev-parse HEAD 2>/dev/null); then
	echo "STABLE_GIT_COMMIT $commit"
	# Untracked files count: a build can read them (a new source file not yet added).
	if [ -n "$(git status --porcelain --untracked-files=normal 2>/dev/null)" ]; then
		echo "STABLE_GIT_TREE_STATE dirty"
	else
		echo "STABLE_GIT_TREE_STATE clean"
	fi
	if describe=$(git describe --tags --always --dirty 2>/dev/null); then
		echo "STABLE_GIT_DESCRIBE $describe"
	fi
elif commit=$(commit_from_dotgit); then
	echo "STABLE_GIT_COMMIT $commit"
fi
exit 0
