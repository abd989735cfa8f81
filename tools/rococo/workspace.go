package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// workspace returns the root of the Rococo workspace: $BUILD_WORKSPACE_DIRECTORY
// under `bazel run`, else the nearest directory from the working directory
// up that holds MODULE.bazel and go.mod.
func workspace(getenv func(string) string) (string, error) {
	if dir := getenv("BUILD_WORKSPACE_DIRECTORY"); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the workspace: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isFile(filepath.Join(dir, "MODULE.bazel")) && isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s is not in a Rococo workspace (no MODULE.bazel and go.mod in it or above): run rococo from the workspace, or with bazel run //tools/rococo -- ...", wd)
		}
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// modulePath returns the module path of the workspace's go.mod.
func modulePath(ws string) (string, error) {
	b, err := os.ReadFile(filepath.Join(ws, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read the module path: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New(filepath.Join(ws, "go.mod") + " has no module line")
}
