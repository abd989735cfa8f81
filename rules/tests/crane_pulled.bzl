"""crane_pulled: a fixture layout as `crane pull --format=oci` writes it."""

load("//rules:defs.bzl", "RococoImageInfo")

def _impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ["roundtrip", "--layout", ctx.attr.image[RococoImageInfo].layout.path, "--out", out.path]
    if ctx.attr.platform:
        args.extend(["--platform", ctx.attr.platform])
    ctx.actions.run(
        executable = ctx.executable._imagebuilder,
        arguments = args,
        inputs = [ctx.attr.image[RococoImageInfo].layout],
        outputs = [out],
        mnemonic = "CranePull",
        progress_message = "Pushing %{label} with crane and pulling it back",
    )
    return [DefaultInfo(files = depset([out]))]

crane_pulled = rule(
    implementation = _impl,
    attrs = {
        "image": attr.label(
            doc = "The image to push with crane (to a registry on 127.0.0.1 inside the action) and pull back.",
            mandatory = True,
            providers = [RococoImageInfo],
        ),
        "platform": attr.string(
            doc = "Pull this platform only (crane pull --platform): the layout then holds one image.",
        ),
        "_imagebuilder": attr.label(
            default = Label("//tools/imagebuilder"),
            executable = True,
            cfg = "exec",
        ),
    },
    doc = "The layout a crane (or rules_oci oci_pull) user has of an image pulled from a registry, for base tests.",
)
