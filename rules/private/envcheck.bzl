"""rococo_env_check: checks a service's image env with the runtime's own Go validation at build time.

Most users should use the rococo_service macro, which creates it as
`:env_check`. The action runs //tools/servicecheck (built from rococo/config
and rococo/cron for the execution platform) on the env the image gets, so a
schedule or value the service would refuse at start (such as
cron_expressions = ["0 0 30 2 *"]) fails `bazel build` with the runtime's
message, the service's label and the attribute to fix. Starlark does not
parse schedules itself: there is one parser.
"""

def _impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".ok")
    args = ctx.actions.args()
    args.add("--label", ctx.attr.service_label)
    args.add("--package", ctx.attr.package)
    args.add("--out", out)
    for k, v in sorted(ctx.attr.env.items()):
        args.add("--env", "%s=%s" % (k, v))
    ctx.actions.run(
        executable = ctx.executable._servicecheck,
        arguments = [args],
        outputs = [out],
        mnemonic = "RococoEnvCheck",
        progress_message = "Checking the env of %s with the runtime's validation" % ctx.attr.service_label,
    )
    return [
        DefaultInfo(files = depset([out])),
        OutputGroupInfo(_validation = depset([out])),
    ]

rococo_env_check = rule(
    implementation = _impl,
    attrs = {
        "service_label": attr.string(
            doc = "The service's label, as messages name it.",
            mandatory = True,
        ),
        "package": attr.string(
            doc = "The service's package, such as services/x.",
            mandatory = True,
        ),
        "env": attr.string_dict(
            doc = "The image's env.",
        ),
        "_servicecheck": attr.label(
            default = Label("//tools/servicecheck"),
            executable = True,
            cfg = "exec",
        ),
    },
    doc = "Fails the build when the runtime's validation refuses the service's image env.",
)
