"""The rococo_service macro: one Go service, its image, push and tests."""

load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("@rules_go//go:def.bzl", "go_binary")
load(":image.bzl", "rococo_image_rule")
load(":push.bzl", "rococo_load_rule", "rococo_push_all_rule", "rococo_push_rule")
load(":tests.bzl", "rococo_image_test", "rococo_layout_test")
load(":validate.bzl", "image_env", "is_lib_label", "validate_attrs", "validate_layout")

# Linked into every service by the rule itself, whatever processor.go
# imports: label -> Go import path.
RUNTIME_DEPS = {
    Label("//common"): "github.com/rococo-go/rococo/common",
}

VERSION_PACKAGE = "github.com/rococo-go/rococo/common/version"

DEFAULT_SOURCE = "https://github.com/rococo-go/rococo"

_PLATFORMS = ["linux/amd64", "linux/arm64"]

_WELL_KNOWN_TAGS = ["manual", "no-remote", "no-cache", "no-sandbox", "requires-network", "exclusive"]

def _lib_state():
    if native.subpackages(include = ["lib"], allow_empty = True):
        return "package"
    if native.glob(["lib/**/*.go"], allow_empty = True):
        return "go_files_no_build"
    if native.glob(["lib/**"], allow_empty = True, exclude_directories = 0):
        return "no_go"
    return "missing"

def _lib_in_deps(pkg, deps, embed):
    """True/False when known at loading time, None when the embedded library is not declared yet."""
    for d in deps:
        if is_lib_label(d, pkg):
            return True
    unknown = False
    for e in embed:
        if not e.startswith(":"):
            unknown = True
            continue
        r = native.existing_rule(e[1:])
        if r == None:
            unknown = True
            continue
        for d in r.get("deps") or []:
            if is_lib_label(d, pkg):
                return True
    return None if unknown else False

def rococo_service(
        name,
        processor_type = None,
        execution_type = None,
        messaging_type = None,
        cron_time_amount = None,
        cron_time_unit = None,
        cron_run_at = None,
        cron_expressions = None,
        run_at_startup = None,
        env = {},
        version = "0.0.0",
        deps = [],
        embed = [],
        repository = "",
        remote_tags = ["latest"],
        base = None,
        source = DEFAULT_SOURCE,
        tags = [],
        visibility = None,
        **kwargs):
    """A Rococo Go service: static binaries, an OCI image with the env baked in, push, and tests.

    Write one call in services/<name>/BUILD.bazel. Gazelle keeps `embed`
    (the processor.go library) up to date through
    `# gazelle:map_kind go_binary rococo_service //rules:defs.bzl`; the other
    attributes are yours. The attributes are checked at loading time against
    SPEC.md sections 2 and 3; each failure names the service, the problem and
    the fix.

    Targets created (in the service's package):
      <name>: the static binary for the host's CPU (an alias); `bazel run` runs it
        with the image's env (add `-- --once` to run a cron processor once).
      <name>_linux_amd64, <name>_linux_arm64: pure, static Go binaries.
      image: the OCI image layout (linux/amd64 + linux/arm64 index).
      image.tar: a tarball for `docker load` / `podman load` (host CPU).
      load: `bazel run` loads image.tar into podman or docker.
      push: `bazel run` pushes to `repository` (-- --repository R --tag T override).
      image_test: the image config against these attributes, plus a registry round trip.
      layout_test: README.md not empty, lib/ has Go files, the code depends on lib.

    Args:
      name: the service name: the directory under services/, the binary
        (/app/<name>, the entrypoint) and the image title.
      processor_type: PROCESSOR_TYPE: the processor type (Go type name in
        processor.go) the image runs. Required.
      execution_type: EXECUTION_TYPE: "MESSAGING" (default, as in Python) or "CRON".
      messaging_type: MESSAGING_TYPE: "RabbitMqConnection" or "SqsConnection";
        required for MESSAGING, optional for CRON.
      cron_time_amount: CRON_TIME_AMOUNT: a positive number (int, or a string
        such as "0.5").
      cron_time_unit: CRON_TIME_UNIT: seconds, minutes, hours, days or weeks.
      cron_run_at: CRON_RUN_AT: HH:MM:SS; only with days.
      cron_expressions: CRON_EXPRESSIONS: a list of 5-field crontab
        expressions (or one comma-separated string); wins over the interval.
      run_at_startup: RUN_AT_STARTUP: True runs the processor once at start.
      env: other variables baked into the image (queue names, hosts, log
        level). Keys that look like secrets (PASSWORD, SECRET, TOKEN,
        ACCESS_KEY, ...) are refused: give those at run time.
      version: the service version: in the binary's banner
        (common/version.Version) and the image's version label.
      deps: extra Go dependencies of the binary. //common is always added.
      embed: the service's main library (processor.go, package main), kept
        by Gazelle.
      repository: REGISTRY/PATH that `:push` pushes to.
      remote_tags: tags `:push` sets after pushing by digest.
      base: optional base image (an OCI layout target); default scratch plus
        CA roots, time zones, a nonroot user and /tmp.
      source: the org.opencontainers.image.source label.
      tags: tags for the generated tests and targets (only well-known tags
        reach the internal targets).
      visibility: visibility of `<name>`, the platform binaries, `image`, `image.tar`.
      **kwargs: passed to each platform's go_binary (for example gc_goopts,
        data); see rules_go's go_binary and Bazel's common attributes.
        gc_linkopts defaults to ["-s", "-w"] (stripped in every -c mode).
    """
    pkg = native.package_name()
    label = "//%s:%s" % (pkg, name)
    a = {
        "execution_type": execution_type,
        "messaging_type": messaging_type,
        "processor_type": processor_type,
        "cron_time_amount": cron_time_amount,
        "cron_time_unit": cron_time_unit,
        "cron_run_at": cron_run_at,
        "cron_expressions": cron_expressions,
        "run_at_startup": run_at_startup,
        "env": env,
    }
    lib = _lib_state()
    layout = struct(
        processor = bool(native.glob(["processor.go"], allow_empty = True)),
        readme = bool(native.glob(["README.md"], allow_empty = True)),
        lib = lib,
        lib_in_deps = _lib_in_deps(pkg, deps, embed) if lib == "package" else None,
    )
    errs = validate_layout(label, pkg, layout) + validate_attrs(label, a)
    if not embed:
        errs.append("%s: embed is empty: the service has no main library. Fix: run bazel run //:gazelle so it sets embed = [\":%s_lib\"] from processor.go." % (label, name))
    if errs:
        fail("rococo_service %s has %d problem(s):\n  %s" % (label, len(errs), "\n  ".join(errs)))

    internal_tags = [t for t in tags if t in _WELL_KNOWN_TAGS]
    manual = internal_tags + ([] if "manual" in internal_tags else ["manual"])

    # The runtime is linked in through a generated file of package main, so
    # a service cannot leave it out even if processor.go never imports it.
    link_go = name + "_rococo_link.go"
    write_file(
        name = name + "_rococo_link",
        out = link_go,
        content = [
            "// Code generated by rococo_service; DO NOT EDIT.",
            "",
            "package main",
            "",
            "// The runtime and common code are linked into every rococo service.",
            "import (",
        ] + ['\t_ "%s"' % p for p in sorted(RUNTIME_DEPS.values())] + [")", ""],
        tags = manual,
        visibility = ["//visibility:private"],
    )
    all_deps = list(deps)
    given = [native.package_relative_label(d) for d in deps]
    for dep in RUNTIME_DEPS.keys():
        if dep not in given:
            all_deps.append(dep)
    x_defs = {
        VERSION_PACKAGE + ".Name": name,
        VERSION_PACKAGE + ".Version": version,
        VERSION_PACKAGE + ".Commit": "{STABLE_GIT_COMMIT}",
    }

    # Strip symbols and DWARF in every compilation mode (rules_go strips only
    # in fastbuild), so image sizes do not depend on -c.
    gc_linkopts = kwargs.pop("gc_linkopts", ["-s", "-w"])

    # The image's env, also set when the binary runs with `bazel run`.
    baked = image_env(a)
    binaries = {}
    for p in _PLATFORMS:
        goos, goarch = p.split("/")
        bin_name = "%s_%s_%s" % (name, goos, goarch)
        go_binary(
            name = bin_name,
            srcs = [":" + link_go],
            embed = embed,
            deps = all_deps,
            goos = goos,
            goarch = goarch,
            pure = "on",
            static = "on",
            x_defs = x_defs,
            gc_linkopts = gc_linkopts,
            env = baked,
            tags = manual,
            visibility = visibility,
            **kwargs
        )
        binaries[":" + bin_name] = p
    native.alias(
        name = name,
        actual = select({
            Label("@rules_go//go/platform:arm64"): ":%s_linux_arm64" % name,
            "//conditions:default": ":%s_linux_amd64" % name,
        }),
        tags = internal_tags,
        visibility = visibility,
    )

    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": "{STABLE_GIT_COMMIT}",
    }
    stamped = select({
        Label("//rules:stamp"): True,
        "//conditions:default": False,
    })
    rococo_image_rule(
        name = "image",
        service = name,
        binaries = binaries,
        env = baked,
        labels = labels,
        base = base,
        stamp = stamped,
        tar_platform = select({
            Label("@rules_go//go/platform:arm64"): "linux/arm64",
            "//conditions:default": "linux/amd64",
        }),
        tar_tag = "%s:%s" % (repository or "rococo/" + name, remote_tags[0] if remote_tags else "latest"),
        tags = internal_tags,
        visibility = visibility,
    )
    native.filegroup(
        name = "image.tar",
        srcs = [":image"],
        output_group = "tarball",
        tags = internal_tags,
        visibility = visibility,
    )
    rococo_load_rule(
        name = "load",
        image = ":image",
        tags = internal_tags,
    )
    rococo_push_rule(
        name = "push",
        image = ":image",
        repository = repository,
        remote_tags = remote_tags,
        tags = internal_tags,
    )
    expected_labels = {k: v for k, v in labels.items() if k != "org.opencontainers.image.revision"}
    unstamped_labels = dict(expected_labels)
    unstamped_labels["org.opencontainers.image.created"] = "1970-01-01T00:00:00Z"
    rococo_image_test(
        name = "image_test",
        image = ":image",
        service_label = label,
        platforms = _PLATFORMS,
        env = baked,
        labels = select({
            Label("//rules:stamp"): expected_labels,
            "//conditions:default": unstamped_labels,
        }),
        stamped_labels = select({
            Label("//rules:stamp"): ["org.opencontainers.image.created"],
            "//conditions:default": [],
        }),
        # The commit is there only where the workspace status found one.
        optional_labels = select({
            Label("//rules:stamp"): ["org.opencontainers.image.revision"],
            "//conditions:default": [],
        }),
        scratch = base == None,
        size = "small",
        tags = tags,
    )
    rococo_layout_test(
        name = "layout_test",
        service_label = label,
        package = pkg,
        readme = "README.md",
        lib = "//%s/lib" % pkg,
        embed = embed,
        size = "small",
        tags = tags,
    )

def rococo_push_all(name, services = None, exclude = [], repository_prefix = "", remote_tags = ["latest"], jobs = 4, **kwargs):
    """Pushes every service's image in parallel: `bazel run :<name> -- --repository-prefix REGISTRY/PATH`.

    Call it in services/BUILD.bazel. Each image goes to
    <repository_prefix>/<service>, by digest, then tagged.

    Args:
      name: the target name, usually "push_all".
      services: service directories under this package; default: every
        direct subpackage (each services/<name>/ with a BUILD.bazel).
      exclude: subpackages that are not services.
      repository_prefix: REGISTRY/PATH; `-- --repository-prefix` overrides it.
      remote_tags: tags set on each image; `-- --tag` replaces them.
      jobs: images pushed at once; `-- --jobs` overrides it.
      **kwargs: Bazel's common attributes (tags, visibility).
    """
    pkg = native.package_name()
    if services == None:
        services = [s for s in native.subpackages(include = ["*"], allow_empty = True) if s not in exclude]
    images = {}
    for s in services:
        images["//%s/%s:image" % (pkg, s) if pkg else "//%s:image" % s] = s
    rococo_push_all_rule(
        name = name,
        images = images,
        repository_prefix = repository_prefix,
        remote_tags = remote_tags,
        jobs = jobs,
        **kwargs
    )
