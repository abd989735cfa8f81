"""The tests rococo_service generates: rococo_image_test, rococo_layout_test and rococo_check_test.

Most users should use the rococo_service macro, which creates them as
`:image_test`, `:layout_test` and `:check_test`.

- rococo_image_test checks the built image against the attributes (the
  layout's form, env, entrypoint, args, user, working directory, labels,
  annotations, exposed ports, extra files and tars, platforms, system files,
  static binaries), then pushes the layout directory with crane to a
  registry served in process on 127.0.0.1 as rules_oci's oci_push does,
  pulls it back with `crane pull --format=oci`, requires the same digest and
  checks the pulled image again.
- rococo_layout_test checks what loading cannot see: README.md is not
  empty, the lib package has Go files, and the service's code depends on
  it.
- rococo_check_test runs the service binary with the image's env and
  --check: a wrong processor_type or env value fails `bazel test` with the
  runtime's own message.
"""

load("@rules_go//go:def.bzl", "GoArchive", "GoInfo")
load(":image.bzl", "RococoImageInfo", "expand_files")
load(":runfiles.bzl", _PRELUDE = "TEST_PRELUDE", _q = "shell_quote", _runfile = "runfile")

def _image_test_impl(ctx):
    img = ctx.attr.image[RococoImageInfo]
    files = expand_files(ctx.attr.files)
    expect = ctx.actions.declare_file(ctx.label.name + ".expect.json")

    # Paths of sources are relative to the test's working directory (the
    # main repository's runfiles), where they are.
    ctx.actions.write(expect, json.encode(struct(
        service = ctx.attr.service_label,
        name = img.service,
        platforms = ctx.attr.platforms,
        env = ctx.attr.env,
        labels = ctx.attr.labels,
        annotations = ctx.attr.annotations,
        stamped_labels = ctx.attr.stamped_labels,
        optional_labels = ctx.attr.optional_labels,
        args = ctx.attr.cmd,
        exposed_ports = ctx.attr.exposed_ports,
        files = [struct(path = p, source = f.short_path) for p, f in files],
        tars = [t.short_path for t in ctx.files.tars],
        scratch = ctx.attr.scratch,
    )))
    tool = ctx.executable._imagebuilder
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, _PRELUDE.format(rule = "rococo_image_test", label = ctx.label) +
                              "exec {tool} verify --layout {layout} --digest-file {digest} --expect {expect} --roundtrip\n".format(
                                  tool = _runfile(ctx, tool),
                                  layout = _runfile(ctx, img.layout),
                                  digest = _runfile(ctx, img.digest),
                                  expect = _runfile(ctx, expect),
                              ), is_executable = True)
    data = [f for _, f in files] + ctx.files.tars
    runfiles = ctx.runfiles(files = [tool, img.layout, img.digest, expect] + data).merge(ctx.attr._imagebuilder[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

rococo_image_test = rule(
    implementation = _image_test_impl,
    attrs = {
        "image": attr.label(
            doc = "The rococo_image_rule target to check.",
            mandatory = True,
            providers = [RococoImageInfo],
        ),
        "service_label": attr.string(
            doc = "The service's label, as messages name it.",
            mandatory = True,
        ),
        "platforms": attr.string_list(
            doc = "Platforms the index must list, in order.",
            mandatory = True,
        ),
        "env": attr.string_dict(
            doc = "The env the image must carry (exactly, from scratch).",
        ),
        "labels": attr.string_dict(
            doc = "Labels the image must carry with these values.",
        ),
        "annotations": attr.string_dict(
            doc = "Annotations the index and every manifest must carry with these values.",
        ),
        "stamped_labels": attr.string_list(
            doc = "Labels and annotations that must be present with any non-empty value (stamped builds).",
        ),
        "optional_labels": attr.string_list(
            doc = "Labels and annotations that may be present with any value.",
        ),
        "cmd": attr.string_list(
            doc = "The entrypoint's default arguments (the config's Cmd; the image rule's args).",
        ),
        "exposed_ports": attr.string_list(
            doc = "The ports the config must expose.",
        ),
        "files": attr.label_keyed_string_dict(
            doc = "Extra files as the image rule's files: each must be in the image with its bytes, root-owned, mode 0644.",
            allow_files = True,
        ),
        "tars": attr.label_list(
            doc = "Tars whose normalised entries must all be in the image.",
            allow_files = True,
        ),
        "scratch": attr.bool(
            doc = "The image has no base: check the system files too.",
            default = True,
        ),
        "_imagebuilder": attr.label(
            default = Label("//tools/imagebuilder"),
            executable = True,
            cfg = "target",
        ),
    },
    test = True,
    doc = "Checks a service image against its attributes, directly and after a registry round trip.",
)

def _msg(label, problem, fix):
    return "%s: %s. Fix: %s." % (label, problem, fix)

def _layout_test_impl(ctx):
    label = ctx.attr.service_label
    pkg = ctx.attr.package
    problems = []

    lib = ctx.attr.lib
    if GoInfo not in lib:
        problems.append(_msg(label, "%s is not a Go library" % lib.label, "put the business logic in %s/lib/*.go and run bazel run //:gazelle" % pkg))
    else:
        go_srcs = [f for f in lib[GoInfo].srcs if f.extension == "go" and not f.basename.endswith("_test.go")]
        if not go_srcs:
            problems.append(_msg(label, "%s/lib has no Go files" % pkg, "put the business logic in %s/lib/*.go and run bazel run //:gazelle" % pkg))
    lib_importpath = lib[GoInfo].importpath if GoInfo in lib else None
    direct = []
    for e in ctx.attr.embed:
        if GoArchive in e:
            direct.extend([d.data.importpath for d in e[GoArchive].direct])
    if lib_importpath and lib_importpath not in direct:
        problems.append(_msg(label, "the service's code does not depend on //%s/lib" % pkg, "import \"%s\" from processor.go and run bazel run //:gazelle" % lib_importpath))

    lines = ["status=0"]
    for p in problems:
        lines.append("echo %s >&2; status=1" % _q(p))
    readme_problem = _msg(label, "%s/README.md is empty" % pkg, "describe the service in %s/README.md: what it does, how to run it, its env variables" % pkg)
    lines.append("if ! grep -q '[^[:space:]]' %s; then echo %s >&2; status=1; fi" % (_runfile(ctx, ctx.file.readme), _q(readme_problem)))
    lines.append('if [ "$status" = 0 ]; then echo %s; fi' % _q("%s: layout OK (processor.go, README.md, lib/)" % label))
    lines.append('exit "$status"')
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, _PRELUDE.format(rule = "rococo_layout_test", label = ctx.label) + "\n".join(lines) + "\n", is_executable = True)
    return [DefaultInfo(executable = script, runfiles = ctx.runfiles(files = [ctx.file.readme]))]

rococo_layout_test = rule(
    implementation = _layout_test_impl,
    attrs = {
        "service_label": attr.string(
            doc = "The service's label, as messages name it.",
            mandatory = True,
        ),
        "package": attr.string(
            doc = "The service's package, such as services/x.",
            mandatory = True,
        ),
        "readme": attr.label(
            doc = "The service's README.md.",
            mandatory = True,
            allow_single_file = [".md"],
        ),
        "lib": attr.label(
            doc = "The service's lib package (//services/x/lib).",
            mandatory = True,
        ),
        "embed": attr.label_list(
            doc = "The service's main library (from processor.go).",
        ),
    },
    test = True,
    doc = "Checks what loading cannot see of a service's layout: a non-empty README, Go files in lib/, lib among the deps.",
)

def _check_test_impl(ctx):
    label = ctx.attr.service_label
    exe = ctx.attr.binary[DefaultInfo].files_to_run.executable
    env_words = " ".join([_q("%s=%s" % (k, v)) for k, v in sorted(ctx.attr.env.items())])
    fix = _msg(
        label,
        "the service binary refuses the image's env in check mode: $out",
        "correct the attribute or env entry it names in %s/BUILD.bazel (processor_type is the Go type name of a processor in processor.go); the service runs the same check at start" % ctx.attr.package,
    )
    lines = [
        'dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/check.XXXXXX")',
    ]
    for f in ctx.files.config_files:
        lines.append("cp %s \"$dir\"/%s" % (_runfile(ctx, f), _q(f.basename)))
    lines += [
        'cd "$dir"',
        "status=0",
        "out=$(env -i %s %s --check 2>&1) || status=$?" % (env_words, _runfile(ctx, exe)),
        # Only the host prints this line: a main that never calls common.Main ignores --check and exits 0.
        'if [ "$status" = 0 ] && printf "%s\\n" "$out" | grep -q "^check: ok: "; then echo "$out"; exit 0; fi',
        'if [ "$status" = 0 ]; then echo %s >&2; [ -z "$out" ] || echo "$out" >&2; exit 1; fi' % _q(_msg(
            label,
            "the service binary exited 0 with --check without printing \"check: ok: ...\": its main never runs the Rococo host, so the service would not consume, schedule or serve anything",
            "make main in %s/processor.go call common.Main(&YourProcessor{}) (or common.Main(s) for a Band service)" % ctx.attr.package,
        )),
        "echo %s >&2" % _q(fix).replace("$out", "'\"$out\"'"),
        "exit 1",
    ]
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, _PRELUDE.format(rule = "rococo_check_test", label = ctx.label) + "\n".join(lines) + "\n", is_executable = True)
    runfiles = ctx.runfiles(files = ctx.files.config_files + ctx.files.env_check).merge(ctx.attr.binary[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

rococo_check_test = rule(
    implementation = _check_test_impl,
    attrs = {
        "service_label": attr.string(
            doc = "The service's label, as messages name it.",
            mandatory = True,
        ),
        "package": attr.string(
            doc = "The service's package, such as services/x.",
            mandatory = True,
        ),
        "binary": attr.label(
            doc = "The service's go_binary for the host's CPU.",
            mandatory = True,
            executable = True,
            cfg = "target",
        ),
        "env": attr.string_dict(
            doc = "The image's env: the only variables the binary sees.",
        ),
        "env_check": attr.label(
            doc = "The service's rococo_env_check: the test does not build while the runtime's validation refuses the env.",
        ),
        "config_files": attr.label_list(
            doc = "The service's config files (config.yaml, custom.yaml), put in the working directory as in the image.",
            allow_files = True,
        ),
    },
    test = True,
    doc = "Runs the service binary with the image's env and --check: the configuration, PROCESSOR_TYPE and the transport's variables are validated, nothing connects.",
)
