// Package service reads a service of the workspace as the rococo commands
// need it: the env its rococo_service bakes into the image (parsed from
// services/<name>/BUILD.bazel with buildtools, no Bazel run), layered under
// .env and .env.local of the workspace and of the service directory and
// the real environment, as `rococo dev`, `send` and `dlq` run it.
package service
