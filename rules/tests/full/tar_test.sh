#!/usr/bin/env bash
# tar_test IMAGE_TAR AMD64_LAYOUT ARM64_LAYOUT: the docker tarball of //rules/tests/full holds one
# image tagged with repo_tags in order; each per-platform layout's index.json holds one image manifest
# of its platform.
set -o errexit -o nounset -o pipefail
fail() { echo "tar_test: FAIL: $*" >&2; exit 1; }
manifest=$(tar -xOf "$1" manifest.json)
want='"RepoTags":["rococo/full:dev","localhost:5000/full:test"]'
[[ "$manifest" == *"$want"* ]] || fail "manifest.json = $manifest, want $want"
for pair in "$2=amd64" "$3=arm64"; do
	dir=${pair%=*} arch=${pair#*=}
	index=$(tr -d ' \n\t' <"$dir/index.json")
	[ "$(grep -o '"mediaType"' <<<"$index" | wc -l)" = 2 ] || fail "$dir/index.json = $index, want one descriptor (and the index's own mediaType)"
	[[ "$index" == *'application/vnd.oci.image.manifest.v1+json'* && "$index" == *"\"architecture\":\"$arch\""* ]] ||
		fail "$dir/index.json = $index, want one $arch image manifest"
done
echo "tar_test: image.tar tagged rococo/full:dev and localhost:5000/full:test; image.linux_amd64 and image.linux_arm64 hold one image each"
