"""rococo_run_binary: the `bazel run //services/<name>` target of a service.

Most users should use the rococo_service macro, which creates it as
`:<name>`. It runs the service's binary for the host's CPU with the image's
environment (forwarded from the binary) and with the service's config files
(config.yaml, custom.yaml) in its working directory, as the image has them
in /app: `bazel run` starts a program in the root of its runfiles, where
they are linked.
"""

def _impl(ctx):
    bin_info = ctx.attr.binary[DefaultInfo]
    exe = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = exe, target_file = bin_info.files_to_run.executable, is_executable = True)
    symlinks = {f.basename: f for f in ctx.files.config_files}
    runfiles = ctx.runfiles(symlinks = symlinks).merge(bin_info.default_runfiles)
    providers = [DefaultInfo(executable = exe, runfiles = runfiles)]
    if RunEnvironmentInfo in ctx.attr.binary:
        providers.append(ctx.attr.binary[RunEnvironmentInfo])
    return providers

rococo_run_binary = rule(
    implementation = _impl,
    attrs = {
        "binary": attr.label(
            doc = "The service's go_binary for the host's CPU.",
            mandatory = True,
            executable = True,
            cfg = "target",
        ),
        "config_files": attr.label_list(
            doc = "Files put into the working directory of `bazel run` under their base names.",
            allow_files = True,
        ),
    },
    executable = True,
    doc = "Runs a service binary with its config files in the working directory (`bazel run`).",
)
