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
)
```

Outputs: the OCI image layout directory `<name>` (DefaultInfo), and in output
groups `tarball` (`<name>.tar`, loadable by `docker load` / `podman load`, the
platform in `tar_platform`) and `digest` (`<name>.digest`, the index digest).
The image is assembled by //tools/imagebuilder (go-containerregistry), with
every timestamp fixed, so the same inputs give the same digest on any machine.
"""

RococoImageInfo = provider(
    doc = "A rococo service image built by rococo_image_rule.",
    fields = {
        "service": "The service name (string).",
        "layout": "The OCI image layout directory (File, a tree artifact).",
        "tarball": "The docker-loadable tarball (File).",
        "digest": "A file holding the image index digest, sha256:... (File).",
    },
)

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
    tarball = ctx.actions.declare_file(ctx.label.name + ".tar")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    ctx.actions.write(spec, json.encode(struct(
        name = ctx.attr.service,
        env = ctx.attr.env,
        labels = ctx.attr.labels,
        created = "{BUILD_TIMESTAMP}",
    )))

    args = ctx.actions.args()
    args.add("build")
    args.add("--spec", spec)
    inputs = [spec]
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
    args.add("--tar", tarball)
    args.add("--tar-platform", ctx.attr.tar_platform)
    args.add("--tar-tag", ctx.attr.tar_tag or ctx.attr.service + ":latest")
    args.add("--digest-file", digest)

    ctx.actions.run(
        executable = ctx.executable._imagebuilder,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, tarball, digest],
        mnemonic = "RococoImage",
        progress_message = "Building OCI image %{label}",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OutputGroupInfo(tarball = depset([tarball]), digest = depset([digest])),
        RococoImageInfo(service = ctx.attr.service, layout = layout, tarball = tarball, digest = digest),
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
        doc = "Image config labels (also the index annotations). Values may hold {KEY} placeholders " +
              "from the workspace status; with stamping off, a label whose placeholder has no value is left out. " +
              "org.opencontainers.image.created is always set from the image's created time.",
    ),
    "base": attr.label(
        doc = "Optional base image: an OCI image layout (a directory target such as another image, " +
              "or files including oci-layout). Without it the image starts from scratch plus CA roots, " +
              "time zone data, a nonroot user and /tmp.",
        allow_files = True,
    ),
    "tar_platform": attr.string(
        doc = "Platform written to the docker tarball.",
        default = "linux/amd64",
    ),
    "tar_tag": attr.string(
        doc = "Tag inside the docker tarball (default <service>:latest).",
    ),
    "stamp": attr.bool(
        doc = "Use the workspace status: created time and {KEY} label placeholders. The macro sets it from --stamp.",
        default = False,
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
