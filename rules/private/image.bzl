"""rococo_image_rule: a reproducible multi-platform OCI image of a Go service.

Most users should use the rococo_service macro, which creates this rule as
`:image`. Example:

```starlark
rococo_image_rule(
    name = "image",
    service = "email_rabbitmq",
    binaries = {
        ":email_rabbitmq_linux_amd64": "linux/amd64",
        ":email_rabbitmq_linux_arm64": "linux/arm64",
    },
    env = {"EXECUTION_TYPE": "MESSAGING"},
    labels = {"org.opencontainers.image.title": "email_rabbitmq"},
    exposed_ports = ["8080/tcp"],
    files = {":config.yaml": "/app/config.yaml"},
)
```

Outputs: the OCI image layout directory `<name>` (DefaultInfo), whose
index.json holds one descriptor (the image index, as `crane pull
--format=oci` writes it and `crane push` and rules_oci's oci_push read), and
in output group `digest` the file `<name>.digest` (the index digest). The
image is assembled by //tools/imagebuilder (go-containerregistry), with every
timestamp fixed, so the same inputs give the same digest on any machine.
rococo_platform_layout writes one platform of it as a single-image layout;
rococo_load_rule (push.bzl) writes the docker tarball, only when asked for.
"""

RococoImageInfo = provider(
    doc = "A rococo service image built by rococo_image_rule.",
    fields = {
        "service": "The service name (string).",
        "layout": "The OCI image layout directory (File, a tree artifact).",
        "digest": "A file holding the image index digest, sha256:... (File).",
        "platforms": "The platforms of the index, in order (list of strings such as linux/amd64).",
    },
)

def expand_files(files, what = "files"):
    """Returns the (destination path, File) pairs of a files attribute.

    Args:
      files: a dict of Target to destination path, as a
        label_keyed_string_dict attribute gives it. A destination ending in
        "/" is a directory: every file of the target goes there under its
        base name; otherwise the target must have exactly one file.
      what: the attribute's name, for messages.

    Returns:
      A list of (path, File) pairs, in the order given.
    """
    out = []
    for target, dest in files.items():
        fs = target.files.to_list()
        if dest.endswith("/"):
            for f in fs:
                out.append((dest + f.basename, f))
        elif len(fs) == 1:
            out.append((dest, fs[0]))
        else:
            fail("%s: %s has %d files, so it cannot go to the single path %s; map it to a directory ending in / (%s/)" % (what, target.label, len(fs), dest, dest))
    return out

def _base_layout(ctx):
    """Returns (directory path, input files) of the base layout, or (None, [])."""
    if not ctx.attr.base:
        return None, []
    files = ctx.files.base
    if len(files) == 1 and files[0].is_directory:
        return files[0].path, files
    for f in files:
        if f.basename == "oci-layout":
            return f.dirname, files
    fail("base: %s is not an OCI image layout (want a directory target, or files including oci-layout); got %s" % (
        ctx.attr.base.label,
        [f.short_path for f in files][:5],
    ))

def _impl(ctx):
    if not ctx.attr.binaries:
        fail("binaries: want at least one binary; got none")
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    files = expand_files(ctx.attr.files)
    tars = ctx.files.tars
    ctx.actions.write(spec, json.encode(struct(
        name = ctx.attr.service,
        env = ctx.attr.env,
        labels = ctx.attr.labels,
        annotations = ctx.attr.annotations,
        created = "{BUILD_TIMESTAMP}",
        args = ctx.attr.args,
        exposed_ports = ctx.attr.exposed_ports,
        files = [struct(path = p, source = f.path) for p, f in files],
        tars = [t.path for t in tars],
    )))

    args = ctx.actions.args()
    args.add("build")
    args.add("--spec", spec)
    inputs = [spec] + [f for _, f in files] + tars
    platforms = {}
    for target, platform in ctx.attr.binaries.items():
        if platform in platforms:
            fail("binaries: platform %s is given twice (%s and %s)" % (platform, platforms[platform], target.label))
        platforms[platform] = target.label
        exe = target[DefaultInfo].files_to_run.executable
        if not exe:
            fail("binaries: %s is not an executable" % target.label)
        args.add("--binary", exe, format = platform + "=%s")
        inputs.append(exe)
    base_dir, base_files = _base_layout(ctx)
    inputs.extend(base_files)
    if base_dir:
        args.add("--base", base_dir)
    else:
        args.add("--tzdata", ctx.file._tzdata)
        inputs.append(ctx.file._tzdata)
    if ctx.attr.stamp:
        args.add("--stamp-file", ctx.info_file)
        args.add("--stamp-file", ctx.version_file)
        inputs.extend([ctx.info_file, ctx.version_file])
    args.add("--layout", layout.path)
    args.add("--digest-file", digest)

    ctx.actions.run(
        executable = ctx.executable._imagebuilder,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "RococoImage",
        progress_message = "Building OCI image %{label}",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OutputGroupInfo(digest = depset([digest])),
        RococoImageInfo(service = ctx.attr.service, layout = layout, digest = digest, platforms = list(ctx.attr.binaries.values())),
    ]

_attrs = {
    "service": attr.string(
        doc = "Service name: the binary goes to /app/<service> and is the entrypoint.",
        mandatory = True,
    ),
    "binaries": attr.label_keyed_string_dict(
        doc = "Static Linux binaries, each mapped to its platform (\"linux/amd64\"). The index lists them in this order.",
        mandatory = True,
    ),
    "env": attr.string_dict(
        doc = "Environment baked into the image config.",
    ),
    "labels": attr.string_dict(
        doc = "Image config labels. Values may hold {KEY} placeholders " +
              "from the workspace status; with stamping off, a label whose placeholder has no value is left out. " +
              "org.opencontainers.image.created is always set from the image's created time.",
    ),
    "annotations": attr.string_dict(
        doc = "Annotations of the image index and of every platform's manifest; {KEY} placeholders as in labels. " +
              "org.opencontainers.image.created is always set.",
    ),
    "args": attr.string_list(
        doc = "Default arguments of the entrypoint (the config's Cmd), such as [\"--once\"]. Kubernetes' `args` replaces them.",
    ),
    "exposed_ports": attr.string_list(
        doc = "Ports the config declares: \"8080/tcp\", \"53/udp\" or \"8080\" (TCP).",
    ),
    "files": attr.label_keyed_string_dict(
        doc = "Extra files: each target mapped to its absolute path in the image, or to a directory ending in / " +
              "for every file of the target. One layer for all of them, the same on every platform; owned by root, " +
              "mode 0644, parent directories 0755.",
        allow_files = True,
    ),
    "tars": attr.label_list(
        doc = "Tar files (plain or gzip), each one layer, normalised: owners root, modes 0755 for directories and " +
              "files with an exec bit, 0644 for other files, setuid/setgid/sticky bits and times dropped, hard links " +
              "copied. Device nodes and paths leaving the root are refused.",
        allow_files = [".tar", ".tar.gz", ".tgz"],
    ),
    "base": attr.label(
        doc = "Optional base image: an OCI image layout (a directory target such as another image, " +
              "or files including oci-layout, such as what `crane pull --format=oci` or rules_oci's oci_pull writes). " +
              "Without it the image starts from scratch plus CA roots, time zone data, a nonroot user and /tmp.",
        allow_files = True,
    ),
    "stamp": attr.bool(
        doc = "Use the workspace status: created time and {KEY} placeholders. The macro sets it from --stamp.",
        default = False,
    ),
    "env_check": attr.label(
        doc = "The service's rococo_env_check: its validation (the runtime's check of the env) runs whenever " +
              "the image, or what uses it (load, push, push_all), is built, so an image the service would " +
              "refuse to start with is never built or pushed.",
    ),
    "_imagebuilder": attr.label(
        default = Label("//tools/imagebuilder"),
        executable = True,
        cfg = "exec",
    ),
    "_tzdata": attr.label(
        default = Label("//rules:tzdata"),
        allow_single_file = True,
    ),
}

rococo_image_rule = rule(
    implementation = _impl,
    attrs = _attrs,
    doc = "Builds a reproducible multi-platform OCI image of a Go service. Most users should use rococo_service.",
)

def _platform_layout_impl(ctx):
    img = ctx.attr.image[RococoImageInfo]
    if ctx.attr.platform not in img.platforms:
        fail("platform: %s is not in the image's platforms %s" % (ctx.attr.platform, img.platforms))
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run(
        executable = ctx.executable._imagebuilder,
        arguments = ["platform", "--layout", img.layout.path, "--platform", ctx.attr.platform, "--out", out.path],
        inputs = [img.layout],
        outputs = [out],
        mnemonic = "RococoPlatformLayout",
        progress_message = "Writing the %s image of %%{label}" % ctx.attr.platform,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

rococo_platform_layout = rule(
    implementation = _platform_layout_impl,
    attrs = {
        "image": attr.label(
            doc = "The rococo_image_rule target.",
            mandatory = True,
            providers = [RococoImageInfo],
        ),
        "platform": attr.string(
            doc = "The platform to take, such as linux/amd64.",
            mandatory = True,
        ),
        "_imagebuilder": attr.label(
            default = Label("//tools/imagebuilder"),
            executable = True,
            cfg = "exec",
        ),
    },
    doc = "One platform of an image as an OCI layout holding that single image (index.json lists its manifest): " +
          "the form rules_oci's oci_image(base = ...) and oci_load (docker format) read. rococo_service creates " +
          "`:image.linux_amd64`, `:image.linux_arm64` (one per platform, tagged manual: built when asked for).",
)

def _tzdata_impl(ctx):
    sdk = ctx.toolchains[Label("@rules_go//go:toolchain")].sdk
    srcs = sdk.srcs.to_list() if type(sdk.srcs) == "depset" else sdk.srcs
    for f in srcs:
        if f.path.endswith("src/time/tzdata/zzipdata.go"):
            return [DefaultInfo(files = depset([f]))]
    fail("the Go SDK %s has no src/time/tzdata/zzipdata.go; images need its time zone data" % sdk.root_file.dirname)

rococo_tzdata = rule(
    implementation = _tzdata_impl,
    toolchains = [Label("@rules_go//go:toolchain")],
    doc = "The Go SDK's time zone database (src/time/tzdata/zzipdata.go, the same zip as lib/time/zoneinfo.zip), " +
          "taken from the registered Go toolchain so images need no download and no host files.",
)
