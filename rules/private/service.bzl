"""The rococo_service macro: one Go service, its image, push and tests."""

load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("@rules_go//go:def.bzl", "go_binary")
load(":envcheck.bzl", "rococo_env_check")
load(":image.bzl", "rococo_image_rule", "rococo_platform_layout")
load(":k8s.bzl", "rococo_k8s_rule", "rococo_k8s_test")
load(":push.bzl", "rococo_load_rule", "rococo_push_all_rule", "rococo_push_rule")
load(":run.bzl", "rococo_run_binary")
load(":tests.bzl", "rococo_check_test", "rococo_image_test", "rococo_layout_test")
load(":validate.bzl", "image_env", "is_lib_label", "validate_attrs", "validate_layout")
load(":validate_image.bzl", "CONFIG_FILES", "DEFAULT_PLATFORMS", "WORKDIR", "validate_image_attrs", "validate_k8s_attrs")

# Linked into every service by the rule itself, whatever processor.go
# imports: label -> Go import path.
RUNTIME_DEPS = {
    Label("//common"): "github.com/rococo-go/rococo/common",
}

VERSION_PACKAGE = "github.com/rococo-go/rococo/common/version"

DEFAULT_SOURCE = "https://github.com/rococo-go/rococo"

# The platforms `bazel run` may need (the host's CPU); built only when asked for.
_HOST_PLATFORMS = ["linux/amd64", "linux/arm64"]

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
        repository_file = None,
        remote_tags = ["latest"],
        repo_tags = None,
        base = None,
        source = DEFAULT_SOURCE,
        labels = {},
        annotations = {},
        exposed_ports = None,
        files = {},
        tars = [],
        platforms = None,
        args = [],
        replicas = None,
        resources = {},
        pod_disruption_budget = None,
        tags = [],
        visibility = None,
        **kwargs):
    """A Rococo Go service: static binaries, an OCI image with the env baked in, push, and tests.

    Write one call in services/<name>/BUILD.bazel. Gazelle keeps `embed`
    (the processor.go library) up to date through
    `# gazelle:map_kind go_binary rococo_service //rules:defs.bzl`; the other
    attributes are yours. The attributes are checked at loading time against
    the service layout and the execution environment (docs/service-layout.md,
    docs/environment.md); each failure names the service, the problem and the
    fix.

    Targets created (in the service's package):
      <name>: the static binary for the host's CPU; `bazel run` runs it with
        the image's env and the service's config files in its working
        directory (add `-- --once` to run a cron processor once).
      <name>_linux_amd64, <name>_linux_arm64 (and one per other platform):
        pure, static Go binaries.
      image: the OCI image layout (an index of `platforms`; index.json holds
        its one descriptor, as crane and rules_oci read it).
      image.linux_amd64, ...: one platform as a single-image layout
        (rules_oci's oci_image base, oci_load); manual.
      image.tar: a tarball for `docker load` / `podman load` (host CPU),
        tagged repo_tags; manual, built when asked for.
      load: `bazel run` loads the image into podman or docker as repo_tags.
      push: `bazel run` pushes to `repository` (-- --repository R --tag T override).
      k8s: Kubernetes manifests (k8s.yaml) with the image pinned by digest.
      image_test: the image config and manifests against these attributes,
        plus a crane push of the layout directory and a pull back.
      k8s_test: the manifests decoded strictly and checked.
      layout_test: README.md not empty, lib/ has Go files, the code depends on lib.

    Config files: config.yaml and custom.yaml in the service's package, when
    present, go into the image's working directory (/app/config.yaml,
    /app/custom.yaml; root-owned, mode 0644), where the runtime reads them,
    and into the working directory of `bazel run //services/<name>`.

    Args:
      name: the service name: the directory under services/, the binary
        (/app/<name>, the entrypoint) and the image title.
      processor_type: PROCESSOR_TYPE: the processor type (Go type name in
        processor.go) the image runs. Required, except for BAND.
      execution_type: EXECUTION_TYPE: "MESSAGING" (default, as in Python),
        "CRON", or "BAND" (the Band functions registered in processor.go,
        package rococo/band: no processor_type and no cron_* attributes).
      messaging_type: MESSAGING_TYPE: "RabbitMqConnection" or "SqsConnection";
        required for MESSAGING, optional for CRON and BAND.
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
      repository: REGISTRY/PATH that `:push` pushes to (and `:k8s` names).
      repository_file: a file holding the repository instead (one line;
        {KEY} stamp placeholders allowed).
      remote_tags: tags `:push` sets after pushing by digest: a list
        ({KEY} placeholders such as "git-{STABLE_GIT_COMMIT}" filled with
        --stamp, left out without), or the label of a file of tags, one a line.
      repo_tags: REPOSITORY:TAG names `:load` and `:image.tar` give the image;
        default [<repository or rococo/<name>>:<first remote tag>].
      base: optional base image (an OCI layout target: another image, or a
        layout from `crane pull --format=oci` / rules_oci's oci_pull);
        default scratch plus CA roots, time zones, a nonroot user and /tmp.
      source: the org.opencontainers.image.source label.
      labels: more image config labels ({KEY} placeholders filled with
        --stamp); the org.opencontainers.image.* keys the rule sets are refused.
      annotations: annotations of the image index and manifests, likewise.
      exposed_ports: ports the image declares ("8080/tcp", "53/udp");
        default the health port (HEALTH_PORT in env, else 8080; none when 0).
      files: extra files: a dict of label to absolute path in the image
        (a path ending in / takes every file of the target); root-owned,
        mode 0644. Not under /tmp, not the binary.
      tars: tar files added as one layer each, with owners and modes fixed
        (root; 0755 directories and executables, 0644 other files).
      platforms: the image's platforms; default ["linux/amd64", "linux/arm64"].
      args: default arguments of the entrypoint (the image's Cmd).
      replicas: the Deployment's replicas in `:k8s` (default 1). A CRON
        service with more than 1 runs as a Deployment with leader election
        (needs messaging_type = "RabbitMqConnection").
      resources: the container's resources in `:k8s`: {"requests": {"cpu":
        "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}.
      pod_disruption_budget: adds a PodDisruptionBudget to `:k8s`:
        {"max_unavailable": 1} or {"min_available": "50%"}.
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
    config_files = [f for f in CONFIG_FILES if native.glob([f], allow_empty = True)]
    image_attrs = {
        "labels": labels,
        "annotations": annotations,
        "exposed_ports": exposed_ports,
        "files": files,
        "config_files": ["%s/%s" % (WORKDIR, f) for f in config_files],
        "tars": tars,
        "platforms": platforms,
        "args": args,
        "repository": repository,
        "repository_file": repository_file,
        "remote_tags": remote_tags,
        "repo_tags": repo_tags,
    }
    k8s_attrs = {
        "replicas": replicas,
        "resources": resources,
        "pod_disruption_budget": pod_disruption_budget,
    }
    errs = validate_layout(label, pkg, layout) + validate_attrs(label, a) + validate_image_attrs(label, name, image_attrs) + validate_k8s_attrs(label, k8s_attrs)
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
    platforms = platforms or DEFAULT_PLATFORMS
    for p in _HOST_PLATFORMS + [p for p in platforms if p not in _HOST_PLATFORMS]:
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
    binaries = {":%s_%s" % (name, p.replace("/", "_")): p for p in platforms}  # in the index's order
    rococo_run_binary(
        name = name,
        binary = select({
            Label("@rules_go//go/platform:arm64"): ":%s_linux_arm64" % name,
            "//conditions:default": ":%s_linux_amd64" % name,
        }),
        config_files = config_files,
        tags = internal_tags,
        visibility = visibility,
    )
    _image_targets(
        name = name,
        label = label,
        version = version,
        source = source,
        env = baked,
        binaries = binaries,
        platforms = platforms,
        config_files = config_files,
        repository = repository,
        repository_file = repository_file,
        remote_tags = remote_tags,
        repo_tags = repo_tags,
        base = base,
        labels = labels,
        annotations = annotations,
        exposed_ports = exposed_ports,
        files = files,
        tars = tars,
        args = args,
        tags = tags,
        internal_tags = internal_tags,
        visibility = visibility,
    )
    _k8s_targets(
        label = label,
        version = version,
        env = baked,
        repository = repository,
        repository_file = repository_file,
        replicas = replicas,
        resources = resources,
        pod_disruption_budget = pod_disruption_budget,
        tags = tags,
        internal_tags = internal_tags,
        visibility = visibility,
    )
    rococo_env_check(
        name = "env_check",
        service_label = label,
        package = pkg,
        env = baked,
        tags = internal_tags,
    )
    rococo_check_test(
        name = "check_test",
        env_check = ":env_check",
        service_label = label,
        package = pkg,
        binary = select({
            Label("@rules_go//go/platform:arm64"): ":%s_linux_arm64" % name,
            "//conditions:default": ":%s_linux_amd64" % name,
        }),
        env = baked,
        config_files = config_files,
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

# org.opencontainers.image.* labels and annotations every image gets.
def _oci_keys(name, version, source):
    return {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": "{STABLE_GIT_COMMIT}",
    }

def _health_ports(env):
    """The health port the runtime listens on, as exposed_ports: HEALTH_PORT, default 8080, none for 0.

    A HEALTH_PORT that is not a port exposes none: :env_check, which the image
    depends on, fails the build naming it.
    """
    port = env.get("HEALTH_PORT", "8080")
    if not port.isdigit() or int(port) < 1 or int(port) > 65535:
        return []
    return ["%s/tcp" % port]

def _expected(keys):
    """Returns the labels (or annotations) the image test expects.

    Those without {KEY} placeholders (the others are left out without
    --stamp and have values known only to the build with it), and the
    created time.
    """
    fixed = {k: v for k, v in keys.items() if "{" not in v}
    unstamped = dict(fixed)
    unstamped["org.opencontainers.image.created"] = "1970-01-01T00:00:00Z"
    return select({
        Label("//rules:stamp"): fixed,
        "//conditions:default": unstamped,
    })

def _placeholder_keys(*dicts):
    """The keys whose values hold {KEY} placeholders."""
    return sorted({k: True for d in dicts for k, v in d.items() if "{" in v}.keys())

def _image_targets(name, label, version, source, env, binaries, platforms, config_files, repository, repository_file, remote_tags, repo_tags, base, labels, annotations, exposed_ports, files, tars, args, tags, internal_tags, visibility):
    """The image, its per-platform layouts, load, image.tar, push and image_test."""
    all_labels = _oci_keys(name, version, source)
    all_labels.update(labels)
    all_annotations = _oci_keys(name, version, source)
    all_annotations.update(annotations)
    ports = _health_ports(env) if exposed_ports == None else exposed_ports
    all_files = {":" + f: "%s/%s" % (WORKDIR, f) for f in config_files}
    all_files.update(files)
    stamped = select({
        Label("//rules:stamp"): True,
        "//conditions:default": False,
    })
    rococo_image_rule(
        name = "image",
        service = name,
        binaries = binaries,
        env = env,
        labels = all_labels,
        annotations = all_annotations,
        args = args,
        exposed_ports = ports,
        files = all_files,
        tars = tars,
        base = base,
        stamp = stamped,
        env_check = ":env_check",
        tags = internal_tags,
        visibility = visibility,
    )
    manual = internal_tags + ([] if "manual" in internal_tags else ["manual"])
    for p in platforms:
        rococo_platform_layout(
            name = "image." + p.replace("/", "_"),
            image = ":image",
            platform = p,
            tags = manual,
            visibility = visibility,
        )

    # The host's CPU when the image has it, else the first platform.
    host = {p: p if p in platforms else platforms[0] for p in ["linux/amd64", "linux/arm64"]}
    first_tag = remote_tags[0] if type(remote_tags) == "list" and remote_tags else "latest"
    rococo_load_rule(
        name = "load",
        image = ":image",
        platform = select({
            Label("@rules_go//go/platform:arm64"): host["linux/arm64"],
            "//conditions:default": host["linux/amd64"],
        }),
        repo_tags = repo_tags or ["%s:%s" % (repository or "rococo/" + name, first_tag if "{" not in first_tag else "latest")],
        tags = internal_tags,
    )
    native.filegroup(
        name = "image.tar",
        srcs = [":load"],
        output_group = "tarball",
        tags = manual,
        visibility = visibility,
    )
    tags_file = type(remote_tags) == "string"
    rococo_push_rule(
        name = "push",
        image = ":image",
        repository = repository,
        repository_file = repository_file,
        remote_tags = [] if tags_file else remote_tags,
        remote_tags_file = remote_tags if tags_file else None,
        stamp = stamped,
        tags = internal_tags,
    )
    rococo_image_test(
        name = "image_test",
        image = ":image",
        service_label = label,
        platforms = platforms,
        env = env,
        labels = _expected(all_labels),
        annotations = _expected(all_annotations),
        stamped_labels = select({
            Label("//rules:stamp"): ["org.opencontainers.image.created"],
            "//conditions:default": [],
        }),
        # Stamped values (the commit, or anything from the workspace status)
        # are there only where the workspace status has them.
        optional_labels = select({
            Label("//rules:stamp"): _placeholder_keys(all_labels, all_annotations),
            "//conditions:default": [],
        }),
        cmd = args,
        exposed_ports = ports,
        files = all_files,
        tars = tars,
        scratch = base == None,
        size = "small",
        tags = tags,
    )

def _k8s_targets(label, version, env, repository, repository_file, replicas, resources, pod_disruption_budget, tags, internal_tags, visibility):
    """The Kubernetes manifests (:k8s, k8s.yaml) and their test."""
    k8s = dict(
        image = ":image",
        service_label = label,
        version = version,
        repository = repository,
        repository_file = repository_file,
        env = env,
        replicas = replicas or 0,
        resources_json = json.encode(resources or {}),
        pod_disruption_budget = {k: str(v) for k, v in (pod_disruption_budget or {}).items()},
    )
    rococo_k8s_rule(
        name = "k8s",
        stamp = select({
            Label("//rules:stamp"): True,
            "//conditions:default": False,
        }),
        tags = internal_tags,
        visibility = visibility,
        **k8s
    )
    rococo_k8s_test(
        name = "k8s_test",
        manifests = ":k8s",
        size = "small",
        tags = tags,
        **k8s
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
      remote_tags: tags set on each image ({KEY} placeholders filled with
        --stamp); `-- --tag` replaces them.
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
        stamp = select({
            Label("//rules:stamp"): True,
            "//conditions:default": False,
        }),
        **kwargs
    )
