"""Unit tests of rules/private/validate_image.bzl: exact messages for the image, push and Kubernetes attributes."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(
    "//rules/private:validate_image.bzl",
    "is_image_path",
    "is_tag",
    "port_error",
    "quantity_error",
    "repository_error",
    "validate_image_attrs",
    "validate_k8s_attrs",
)

L = "//services/svc:svc"

def _image(**kw):
    a = {
        "labels": {},
        "annotations": {},
        "exposed_ports": None,
        "files": {},
        "config_files": [],
        "tars": [],
        "platforms": None,
        "args": [],
        "repository": "",
        "repository_file": None,
        "remote_tags": ["latest"],
        "repo_tags": None,
    }
    a.update(kw)
    return a

def _valid_image_attrs_test_impl(ctx):
    env = unittest.begin(ctx)
    valid = [
        _image(),
        _image(
            labels = {"com.example.team": "payments", "com.example.commit": "{STABLE_GIT_COMMIT}"},
            annotations = {"com.example.oncall": "#payments"},
            exposed_ports = ["8080", "8080/tcp", "53/udp", "9000/sctp"],
            files = {":config.json": "/etc/svc/config.json", "//assets": "/srv/assets/"},
            config_files = ["/app/config.yaml"],
            platforms = ["linux/arm64", "linux/amd64", "linux/s390x"],
            args = ["--once"],
            repository = "ghcr.io/acme/svc",
            remote_tags = ["latest", "1.0.0", "git-{STABLE_GIT_COMMIT}", "v1.2_rc-3"],
            repo_tags = ["rococo/svc:dev", "localhost:5000/team/svc:latest"],
        ),
        _image(repository = "localhost:5000/rococo/svc"),
        _image(repository = "rococo/svc"),
        _image(repository_file = ":repo.txt", remote_tags = ":tags.txt"),
    ]
    for a in valid:
        asserts.equals(env, [], validate_image_attrs(L, "svc", a), "validate_image_attrs(%r)" % a)
    return unittest.end(env)

valid_image_attrs_test = unittest.make(_valid_image_attrs_test_impl)

_INVALID_IMAGE = [
    (_image(labels = {"org.opencontainers.image.version": "2"}), [
        "//services/svc:svc: labels sets org.opencontainers.image.version, which the rule sets from the version attribute. Fix: remove org.opencontainers.image.version from labels.",
    ]),
    (_image(annotations = {"has space": "x", "n": 1}), [
        "//services/svc:svc: annotations key \"has space\" is not a label key. Fix: use a non-empty key without spaces, such as com.example.team.",
        '//services/svc:svc: annotations n = 1 is not a string. Fix: quote the value: "1".',
    ]),
    (_image(exposed_ports = ["http", "80/http", "0", "70000"]), [
        "//services/svc:svc: exposed_ports: \"http\": the port must be a number 1 to 65535. Fix: write ports as \"8080/tcp\", \"53/udp\" or \"8080\".",
        "//services/svc:svc: exposed_ports: \"80/http\": the protocol must be tcp, udp or sctp. Fix: write ports as \"8080/tcp\", \"53/udp\" or \"8080\".",
        "//services/svc:svc: exposed_ports: \"0\": the port must be a number 1 to 65535. Fix: write ports as \"8080/tcp\", \"53/udp\" or \"8080\".",
        "//services/svc:svc: exposed_ports: \"70000\": the port must be a number 1 to 65535. Fix: write ports as \"8080/tcp\", \"53/udp\" or \"8080\".",
    ]),
    (_image(platforms = ["linux/amd64", "windows/amd64", "linux/amd64"]), [
        "//services/svc:svc: platforms: \"windows/amd64\" is not a supported platform. Fix: use some of linux/amd64, linux/arm64, linux/ppc64le, linux/s390x, linux/riscv64.",
        "//services/svc:svc: platforms lists linux/amd64 twice. Fix: list each platform once.",
    ]),
    (_image(platforms = []), [
        "//services/svc:svc: platforms = [] is not a non-empty list. Fix: set platforms = [\"linux/amd64\", \"linux/arm64\"] or leave it out.",
    ]),
    (_image(tars = "assets.tar"), [
        '//services/svc:svc: tars = "assets.tar" is not a list of tar files. Fix: set tars = [":assets.tar"].',
    ]),
    (_image(args = "--once"), [
        "//services/svc:svc: args = \"--once\" is not a list of strings. Fix: set args = [\"--once\"] (arguments of /app/svc).",
    ]),
    (_image(
        files = {
            "a.txt": "app/a.txt",
            "b.txt": "/tmp/b.txt",
            "c": "/app/svc",
            "d.yaml": "/app/config.yaml",
            "e.txt": "/etc/e.txt",
            "f.txt": "/etc/e.txt",
            "g.txt": "/etc/../g.txt",
        },
        config_files = ["/app/config.yaml"],
    ), [
        "//services/svc:svc: files: a.txt goes to \"app/a.txt\", which is not an absolute, clean path in the image. Fix: map it to a path such as /app/a.txt, or a directory ending in /.",
        "//services/svc:svc: files: b.txt goes to /tmp/b.txt, under /tmp, which Kubernetes mounts an empty volume over. Fix: put it under /app or /etc.",
        "//services/svc:svc: files: c goes to /app/svc, the service binary. Fix: put it elsewhere, such as /app/.",
        "//services/svc:svc: files: d.yaml goes to /app/config.yaml, where rococo_service ships the service's own config.yaml. Fix: remove it from files: config.yaml in the service package is shipped there already.",
        "//services/svc:svc: files: e.txt and f.txt both go to /etc/e.txt. Fix: give each file its own path.",
        "//services/svc:svc: files: g.txt goes to \"/etc/../g.txt\", which is not an absolute, clean path in the image. Fix: map it to a path such as /app/g.txt, or a directory ending in /.",
    ]),
    (_image(repository = "ghcr.io/acme/svc:v1", repository_file = ":repo.txt"), [
        "//services/svc:svc: repository and repository_file are both set. Fix: keep one of them.",
        "//services/svc:svc: repository = \"ghcr.io/acme/svc:v1\" holds a tag. Fix: set repository = \"REGISTRY/PATH\" such as \"ghcr.io/acme/svc\", and tags in remote_tags.",
    ]),
    (_image(repository = "ghcr.io/Acme/svc"), [
        "//services/svc:svc: repository = \"ghcr.io/Acme/svc\" has the path component \"Acme\"; want lowercase letters, digits, . _ -. Fix: set repository = \"REGISTRY/PATH\" such as \"ghcr.io/acme/svc\", and tags in remote_tags.",
    ]),
    (_image(repository = "localhost:50x0/svc@sha256:abc"), [
        "//services/svc:svc: repository = \"localhost:50x0/svc@sha256:abc\" holds a digest. Fix: set repository = \"REGISTRY/PATH\" such as \"ghcr.io/acme/svc\", and tags in remote_tags.",
    ]),
    (_image(remote_tags = ["latest", "has space", "-dash", 7]), [
        "//services/svc:svc: remote_tags: \"has space\" is not an image tag. Fix: use letters, digits, _ . - (at most 128, not starting with . or -), and {KEY} placeholders such as git-{STABLE_GIT_COMMIT}.",
        "//services/svc:svc: remote_tags: \"-dash\" is not an image tag. Fix: use letters, digits, _ . - (at most 128, not starting with . or -), and {KEY} placeholders such as git-{STABLE_GIT_COMMIT}.",
        "//services/svc:svc: remote_tags: 7 is not an image tag. Fix: use letters, digits, _ . - (at most 128, not starting with . or -), and {KEY} placeholders such as git-{STABLE_GIT_COMMIT}.",
    ]),
    (_image(remote_tags = {"latest": True}), [
        "//services/svc:svc: remote_tags = {\"latest\": True} is neither a list of tags nor the label of a tags file. Fix: set remote_tags = [\"latest\"] or remote_tags = \":tags.txt\".",
    ]),
    (_image(repo_tags = ["svc", "Svc:dev", "rococo/svc:has space"]), [
        "//services/svc:svc: repo_tags: \"svc\" is not REPOSITORY:TAG. Fix: write it as \"rococo/svc:dev\" or \"localhost:5000/svc:latest\".",
        "//services/svc:svc: repo_tags: \"Svc:dev\" is not REPOSITORY:TAG. Fix: write it as \"rococo/svc:dev\" or \"localhost:5000/svc:latest\".",
        "//services/svc:svc: repo_tags: \"rococo/svc:has space\" is not REPOSITORY:TAG. Fix: write it as \"rococo/svc:dev\" or \"localhost:5000/svc:latest\".",
    ]),
]

def _invalid_image_attrs_test_impl(ctx):
    env = unittest.begin(ctx)
    for a, want in _INVALID_IMAGE:
        asserts.equals(env, want, validate_image_attrs(L, "svc", a), "validate_image_attrs(%r)" % a)
    return unittest.end(env)

invalid_image_attrs_test = unittest.make(_invalid_image_attrs_test_impl)

def _k8s_attrs_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, [], validate_k8s_attrs(L, {}))
    asserts.equals(env, [], validate_k8s_attrs(L, {
        "replicas": 3,
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "1.5Gi", "ephemeral-storage": "1G", "cpu": 2}},
        "pod_disruption_budget": {"max_unavailable": "25%"},
    }))
    asserts.equals(env, [], validate_k8s_attrs(L, {"pod_disruption_budget": {"min_available": 1}}))
    cases = [
        ({"replicas": 0}, ["//services/svc:svc: replicas = 0 is not a whole number of at least 1. Fix: set replicas = 2 (or leave it out for 1)."]),
        ({"replicas": "2"}, ["//services/svc:svc: replicas = \"2\" is not a whole number of at least 1. Fix: set replicas = 2 (or leave it out for 1)."]),
        ({"resources": {"request": {}}}, ["//services/svc:svc: resources: \"request\" is neither requests nor limits. Fix: use resources = {\"requests\": {...}, \"limits\": {...}}."]),
        ({"resources": {"limits": {"gpu": "1", "memory": "lots", "cpu": "1.5.0"}}}, [
            "//services/svc:svc: resources limits cpu: \"1.5.0\" is not a quantity. Fix: write a quantity such as \"500m\" or \"0.5\" (cpu), \"128Mi\" or \"1Gi\" (memory).",
            "//services/svc:svc: resources limits: \"gpu\" is not a resource. Fix: use cpu, memory, ephemeral-storage.",
            "//services/svc:svc: resources limits memory: \"lots\" is not a quantity. Fix: write a quantity such as \"500m\" or \"0.5\" (cpu), \"128Mi\" or \"1Gi\" (memory).",
        ]),
        ({"resources": {"requests": {"memory": "64MB"}}}, [
            "//services/svc:svc: resources requests memory: \"64MB\" has the unit \"MB\"; want one of m, k, M, G, T, Ki, Mi, Gi, Ti (or none). Fix: write a quantity such as \"500m\" or \"0.5\" (cpu), \"128Mi\" or \"1Gi\" (memory).",
        ]),
        ({"pod_disruption_budget": {"min_available": 1, "max_unavailable": 1}}, [
            "//services/svc:svc: pod_disruption_budget = {\"min_available\": 1, \"max_unavailable\": 1} needs exactly one of min_available or max_unavailable. Fix: set pod_disruption_budget = {\"max_unavailable\": 1} (or \"25%\").",
        ]),
        ({"pod_disruption_budget": {"max_unavailable": "half"}}, [
            "//services/svc:svc: pod_disruption_budget max_unavailable = \"half\" is neither a count nor a percentage. Fix: write a count such as 1 or a percentage such as \"25%\".",
        ]),
    ]
    for a, want in cases:
        asserts.equals(env, want, validate_k8s_attrs(L, a), "validate_k8s_attrs(%r)" % a)
    return unittest.end(env)

k8s_attrs_test = unittest.make(_k8s_attrs_test_impl)

def _image_helpers_test_impl(ctx):
    env = unittest.begin(ctx)
    for ok in ["latest", "v1.2.3", "git-{STABLE_GIT_COMMIT}", "A_b-c.d", "{BUILD_TIMESTAMP}"]:
        asserts.true(env, is_tag(ok), ok)
    for bad in ["", ".x", "-x", "a b", "a:b", "a/b", "x" * 129]:
        asserts.false(env, is_tag(bad), bad)
    for ok in ["ghcr.io/acme/svc", "localhost:5000/svc", "rococo/svc", "svc", "registry.example.com:443/a/b/c", "ghcr.io/acme/{STABLE_TEAM}"]:
        asserts.equals(env, "", repository_error(ok), ok)
    asserts.equals(env, "holds a tag", repository_error("svc:v1"))
    asserts.equals(env, "has a bad registry port \"x\"", repository_error("localhost:x/svc"))
    asserts.equals(env, "has a bad registry host \"my_host.io\"", repository_error("my_host.io/svc"))
    for ok in ["80", "80/tcp", "65535/udp"]:
        asserts.equals(env, "", port_error(ok), ok)
    for ok in ["/app/x", "/etc/a/b.json", "/srv/assets/"]:
        asserts.true(env, is_image_path(ok), ok)
    for bad in ["/", "app/x", "/a//b", "/a/./b", "/a/..", "//a", 5]:
        asserts.false(env, is_image_path(bad), "%r" % (bad,))
    for ok in ["1", "0.5", ".5", "500m", "128Mi", "1Gi", "2k", 3]:
        asserts.equals(env, "", quantity_error(ok), "%r" % (ok,))
    return unittest.end(env)

image_helpers_test = unittest.make(_image_helpers_test_impl)

def validate_image_test_suite(name):
    unittest.suite(
        name,
        valid_image_attrs_test,
        invalid_image_attrs_test,
        k8s_attrs_test,
        image_helpers_test,
    )
