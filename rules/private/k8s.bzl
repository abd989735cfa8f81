"""rococo_k8s_rule and rococo_k8s_test: Kubernetes manifests of a service.

Most users should use the rococo_service macro, which creates them as
`:k8s` (the file k8s.yaml) and `:k8s_test`. The manifests are written by
//tools/k8s (k8s.io/api types) from the image's baked environment and the
deployment attributes; the image is pinned by its index digest, known at
build time because images are reproducible:

    bazel build //services/email_rabbitmq:k8s
    kubectl apply -f bazel-bin/services/email_rabbitmq/k8s.yaml
"""

load(":image.bzl", "RococoImageInfo")
load(":runfiles.bzl", _PRELUDE = "TEST_PRELUDE", _runfile = "runfile")

def _spec(ctx):
    return json.encode(struct(
        service = ctx.attr.service_label,
        name = ctx.attr.image[RococoImageInfo].service,
        version = ctx.attr.version,
        repository = ctx.attr.repository,
        env = ctx.attr.env,
        replicas = ctx.attr.replicas,
        resources = json.decode(ctx.attr.resources_json or "{}"),
        pod_disruption_budget = ctx.attr.pod_disruption_budget,
    ))

def _k8s_impl(ctx):
    img = ctx.attr.image[RococoImageInfo]
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    ctx.actions.write(spec, _spec(ctx))
    out = ctx.actions.declare_file(ctx.label.name + ".yaml")
    args = ctx.actions.args()
    args.add_all(["generate", "--spec", spec, "--digest-file", img.digest, "--out", out])
    inputs = [spec, img.digest]
    if ctx.file.repository_file:
        args.add("--repository-file", ctx.file.repository_file)
        inputs.append(ctx.file.repository_file)
        if ctx.attr.stamp:
            args.add("--stamp-file", ctx.info_file)
            args.add("--stamp-file", ctx.version_file)
            inputs.extend([ctx.info_file, ctx.version_file])
    ctx.actions.run(
        executable = ctx.executable._k8s,
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "RococoK8s",
        progress_message = "Writing the Kubernetes manifests of %{label}",
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        OutputGroupInfo(spec = depset([spec])),
    ]

_attrs = {
    "image": attr.label(
        doc = "The service's rococo_image_rule target (its digest pins the image).",
        mandatory = True,
        providers = [RococoImageInfo],
    ),
    "service_label": attr.string(
        doc = "The service's label, as messages name it.",
        mandatory = True,
    ),
    "version": attr.string(
        doc = "The service version (the app.kubernetes.io/version label).",
    ),
    "repository": attr.string(
        doc = "REGISTRY/PATH of the image; empty means rococo/<service>.",
    ),
    "repository_file": attr.label(
        doc = "A file holding the repository instead (one line; {KEY} placeholders filled with --stamp).",
        allow_single_file = True,
    ),
    "env": attr.string_dict(
        doc = "The image's baked environment (read, never repeated in the manifests).",
    ),
    "replicas": attr.int(
        doc = "Replicas of the Deployment; 0 means 1 and lets a CRON service run as a CronJob.",
    ),
    "resources_json": attr.string(
        doc = "The container's resources as JSON: {\"requests\": {\"cpu\": \"100m\"}, \"limits\": {...}}.",
    ),
    "pod_disruption_budget": attr.string_dict(
        doc = "One of min_available or max_unavailable, a count or a percentage; empty means no budget.",
    ),
    "stamp": attr.bool(
        doc = "Fill the repository file's placeholders from the workspace status. The macro sets it from --stamp.",
    ),
    "_k8s": attr.label(
        default = Label("//tools/k8s"),
        executable = True,
        cfg = "exec",
    ),
}

rococo_k8s_rule = rule(
    implementation = _k8s_impl,
    attrs = _attrs,
    doc = "Writes the Kubernetes manifests of a service (<name>.yaml). Most users should use rococo_service's :k8s.",
)

def _k8s_test_impl(ctx):
    img = ctx.attr.image[RococoImageInfo]
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    ctx.actions.write(spec, _spec(ctx))
    manifests = ctx.file.manifests
    tool = ctx.executable._k8s_target
    cmd = "exec {tool} verify --manifests {m} --spec {spec} --digest-file {digest}".format(
        tool = _runfile(ctx, tool),
        m = _runfile(ctx, manifests),
        spec = _runfile(ctx, spec),
        digest = _runfile(ctx, img.digest),
    )
    files = [tool, manifests, spec, img.digest]
    if ctx.file.repository_file:
        cmd += " --repository-file " + _runfile(ctx, ctx.file.repository_file)
        files.append(ctx.file.repository_file)
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, _PRELUDE.format(rule = "rococo_k8s_test", label = ctx.label) + cmd + "\n", is_executable = True)
    runfiles = ctx.runfiles(files = files).merge(ctx.attr._k8s_target[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

_test_attrs = dict(_attrs)
_test_attrs.pop("_k8s")
_test_attrs.pop("stamp")
_test_attrs.update({
    "manifests": attr.label(
        doc = "The rococo_k8s_rule target to check.",
        mandatory = True,
        allow_single_file = [".yaml"],
    ),
    "_k8s_target": attr.label(
        default = Label("//tools/k8s"),
        executable = True,
        cfg = "target",
    ),
})

rococo_k8s_test = rule(
    implementation = _k8s_test_impl,
    attrs = _test_attrs,
    test = True,
    doc = "Decodes a service's manifests strictly into k8s.io/api types and checks them against the service: " +
          "the workload for its execution type, the image pinned by digest, non-root, read-only root, no " +
          "capabilities, /tmp emptyDir, probes, grace period above SHUTDOWN_TIMEOUT, no baked variable " +
          "repeated, replicas, resources, the Service of a BAND service, the disruption budget.",
)
