"""Unit tests of rules/private/validate.bzl: exact messages for each rule of the service layout and the execution environment (docs/)."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(
    "//rules/private:validate.bzl",
    "image_env",
    "is_lib_label",
    "validate_attrs",
    "validate_layout",
)

L = "//services/svc:svc"

def _attrs(**kw):
    a = {
        "execution_type": "CRON",
        "messaging_type": None,
        "processor_type": "CleanupProcessor",
        "cron_time_amount": None,
        "cron_time_unit": None,
        "cron_run_at": None,
        "cron_expressions": None,
        "run_at_startup": None,
        "env": {},
    }
    a.update(kw)
    return a

def _valid_attrs_test_impl(ctx):
    env = unittest.begin(ctx)
    valid = [
        _attrs(cron_time_amount = 5, cron_time_unit = "minutes"),
        _attrs(cron_time_amount = "0.5", cron_time_unit = "Hours"),
        _attrs(cron_time_amount = 1, cron_time_unit = "days", cron_run_at = "03:30:00", run_at_startup = True),
        _attrs(cron_time_amount = "2", cron_time_unit = "day", cron_run_at = "23:59"),
        _attrs(cron_expressions = ["*/5 * * * *", "0,30 9-17 * jan-jun mon-fri", "CRON_TZ=Europe/Berlin 0 3 1 * ?"]),
        _attrs(cron_expressions = "0 3 * * *,15 4 * * sun"),
        _attrs(execution_type = "MESSAGING", messaging_type = "RabbitMqConnection", env = {"EmailServiceProcessor_QUEUE_NAME": "email", "LOGLEVEL": "INFO"}),
        _attrs(execution_type = None, messaging_type = "SqsConnection"),
        _attrs(cron_time_amount = 10, cron_time_unit = "seconds", messaging_type = "SqsConnection"),
        _attrs(execution_type = "BAND", processor_type = None),
        _attrs(execution_type = "BAND", processor_type = None, messaging_type = "RabbitMqConnection", env = {"GEO_DEBUG": "false"}),
    ]
    for a in valid:
        asserts.equals(env, [], validate_attrs(L, a), "validate_attrs(%r)" % a)
    return unittest.end(env)

valid_attrs_test = unittest.make(_valid_attrs_test_impl)

# Each case: attributes, then the exact messages.
_INVALID = [
    (
        _attrs(execution_type = "BATCH", cron_time_amount = 1, cron_time_unit = "days"),
        ['//services/svc:svc: execution_type = "BATCH" is not a valid EXECUTION_TYPE; want one of MESSAGING, CRON, BAND. Fix: set execution_type = "MESSAGING" (consume a queue), "CRON" (run on a schedule) or "BAND" (serve Band functions).'],
    ),
    (
        _attrs(execution_type = "BAND", processor_type = None, cron_time_amount = 1, run_at_startup = True),
        [
            '//services/svc:svc: cron_time_amount is set but execution_type is BAND. Fix: remove cron_time_amount (schedule a Band function with s.Every or s.Crontab), or set execution_type = "CRON".',
            '//services/svc:svc: run_at_startup is set but execution_type is BAND. Fix: remove run_at_startup (schedule a Band function with s.Every or s.Crontab), or set execution_type = "CRON".',
        ],
    ),
    (
        _attrs(execution_type = "BAND", processor_type = "not-a-type"),
        ['//services/svc:svc: processor_type = "not-a-type" is not a Go type name. Fix: set processor_type to the name of a processor type defined in processor.go.'],
    ),
    (
        _attrs(execution_type = "MESSAGING"),
        ['//services/svc:svc: messaging_type is missing; a MESSAGING service needs a broker. Fix: set messaging_type = "RabbitMqConnection" or "SqsConnection".'],
    ),
    (
        _attrs(execution_type = "MESSAGING", messaging_type = "KafkaConnection"),
        [
            '//services/svc:svc: messaging_type = "KafkaConnection" is not a valid MESSAGING_TYPE; want one of RabbitMqConnection, SqsConnection. Fix: set messaging_type = "RabbitMqConnection" or "SqsConnection".',
        ],
    ),
    (
        _attrs(execution_type = "MESSAGING", messaging_type = "SqsConnection", cron_time_unit = "days"),
        ['//services/svc:svc: cron_time_unit is set but execution_type is MESSAGING. Fix: remove cron_time_unit, or set execution_type = "CRON".'],
    ),
    (
        _attrs(processor_type = None, cron_time_amount = 1, cron_time_unit = "days"),
        ["//services/svc:svc: processor_type is missing; the runtime picks the processor by this name. Fix: set processor_type to the name of a processor type defined in processor.go."],
    ),
    (
        _attrs(processor_type = "my-proc", cron_time_amount = 1, cron_time_unit = "days"),
        ['//services/svc:svc: processor_type = "my-proc" is not a Go type name. Fix: set processor_type to the name of a processor type defined in processor.go.'],
    ),
    (
        _attrs(),
        ['//services/svc:svc: a CRON service needs a schedule. Fix: set cron_expressions = ["0 3 * * *"], or cron_time_amount and cron_time_unit.'],
    ),
    (
        _attrs(cron_time_amount = 5),
        ["//services/svc:svc: cron_time_unit is missing: the interval needs both cron_time_amount and cron_time_unit. Fix: set cron_time_unit, or remove the other."],
    ),
    (
        _attrs(cron_time_amount = 1, cron_time_unit = "days", env = {"RABBITMQ_PASSWORD": "guest"}),
        ["//services/svc:svc: env key RABBITMQ_PASSWORD looks like a secret (it contains PASSWORD); anyone who can pull the image could read it. Fix: remove RABBITMQ_PASSWORD from env and give it at run time (the container's environment, an orchestrator secret, or .env.local)."],
    ),
    (
        _attrs(cron_time_amount = 1, cron_time_unit = "days", env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "ROLLBAR_ACCESS_TOKEN": "z"}),
        [
            "//services/svc:svc: env key AWS_ACCESS_KEY_ID looks like a secret (it contains ACCESS_KEY); anyone who can pull the image could read it. Fix: remove AWS_ACCESS_KEY_ID from env and give it at run time (the container's environment, an orchestrator secret, or .env.local).",
            "//services/svc:svc: env key AWS_SECRET_ACCESS_KEY looks like a secret (it contains SECRET); anyone who can pull the image could read it. Fix: remove AWS_SECRET_ACCESS_KEY from env and give it at run time (the container's environment, an orchestrator secret, or .env.local).",
            "//services/svc:svc: env key ROLLBAR_ACCESS_TOKEN looks like a secret (it contains TOKEN); anyone who can pull the image could read it. Fix: remove ROLLBAR_ACCESS_TOKEN from env and give it at run time (the container's environment, an orchestrator secret, or .env.local).",
        ],
    ),
    (
        _attrs(cron_time_amount = 1, cron_time_unit = "days", env = {"EXECUTION_TYPE": "CRON"}),
        ["//services/svc:svc: env sets EXECUTION_TYPE, which the execution_type attribute controls. Fix: remove EXECUTION_TYPE from env and set execution_type = ... instead."],
    ),
    (
        _attrs(cron_time_amount = 1, cron_time_unit = "days", env = {"1BAD": "x"}),
        ['//services/svc:svc: env key "1BAD" is not a valid variable name. Fix: use letters, digits and _ only, not starting with a digit.'],
    ),
    (
        _attrs(execution_type = None, cron_time_amount = 5, cron_time_unit = "minutes"),
        ['//services/svc:svc: cron_time_amount is set but execution_type is not, and a service without execution_type is MESSAGING. Fix: set execution_type = "CRON" to run on that schedule.'],
    ),
    (
        _attrs(cron_expressions = 5),
        [
            "//services/svc:svc: cron_expressions = 5 is not a list of crontab expressions. Fix: set cron_expressions = [\"0 3 * * *\"].",
        ],
    ),
]

def _invalid_attrs_test_impl(ctx):
    env = unittest.begin(ctx)
    for a, want in _INVALID:
        asserts.equals(env, want, validate_attrs(L, a), "validate_attrs(%r)" % a)
    return unittest.end(env)

invalid_attrs_test = unittest.make(_invalid_attrs_test_impl)

def _layout(processor = True, readme = True, lib = "package", lib_in_deps = True):
    return struct(processor = processor, readme = readme, lib = lib, lib_in_deps = lib_in_deps)

def _layout_test_impl(ctx):
    env = unittest.begin(ctx)
    p = "services/svc"
    asserts.equals(env, [], validate_layout(L, p, _layout()))
    asserts.equals(env, [], validate_layout(L, p, _layout(lib_in_deps = None)))
    cases = [
        (_layout(processor = False), ["//services/svc:svc: processor.go is missing from services/svc. Fix: add services/svc/processor.go (package main) defining the processor type(s) and a one-line main calling common.Main."]),
        (_layout(readme = False), ["//services/svc:svc: README.md is missing from services/svc. Fix: add services/svc/README.md describing the service, how to run it and its env variables."]),
        (_layout(lib = "missing", lib_in_deps = None), ["//services/svc:svc: lib/ is missing from services/svc; the business logic lives in the lib package. Fix: create services/svc/lib/ with a Go package (and its tests), then run bazel run //:gazelle."]),
        (_layout(lib = "no_go", lib_in_deps = None), ["//services/svc:svc: services/svc/lib/ has no Go files. Fix: put the business logic in services/svc/lib/*.go, then run bazel run //:gazelle."]),
        (_layout(lib = "go_files_no_build", lib_in_deps = None), ["//services/svc:svc: services/svc/lib/ has Go files but no BUILD.bazel. Fix: run bazel run //:gazelle to generate services/svc/lib/BUILD.bazel."]),
        (_layout(lib_in_deps = False), ['//services/svc:svc: the service\'s code does not depend on //services/svc/lib. Fix: import "<module>/services/svc/lib" from processor.go and run bazel run //:gazelle.']),
    ]
    for layout, want in cases:
        asserts.equals(env, want, validate_layout(L, p, layout), "validate_layout(%r)" % layout)
    return unittest.end(env)

layout_test = unittest.make(_layout_test_impl)

def _helpers_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.true(env, is_lib_label("//services/svc/lib", "services/svc"))
    asserts.true(env, is_lib_label("//services/svc/lib:lib", "services/svc"))
    asserts.true(env, is_lib_label("@@//services/svc/lib:lib", "services/svc"))
    asserts.true(env, is_lib_label(Label("//services/svc/lib"), "services/svc"))
    asserts.false(env, is_lib_label("//services/svc/library", "services/svc"))
    asserts.false(env, is_lib_label(":svc_lib", "services/svc"))
    asserts.false(env, is_lib_label("//services/other/lib", "services/svc"))

    return unittest.end(env)

helpers_test = unittest.make(_helpers_test_impl)

def _image_env_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, {
        "CRON_EXPRESSIONS": "*/5 * * * *,0 3 * * *",
        "CRON_RUN_AT": "03:00:00",
        "CRON_TIME_AMOUNT": "1",
        "CRON_TIME_UNIT": "days",
        "EXECUTION_TYPE": "CRON",
        "LOGLEVEL": "INFO",
        "PROCESSOR_TYPE": "CleanupProcessor",
        "RUN_AT_STARTUP": "true",
    }, image_env(_attrs(
        cron_expressions = ["*/5 * * * *", " 0 3 * * *"],
        cron_time_amount = 1,
        cron_time_unit = "Days",
        cron_run_at = "03:00:00",
        run_at_startup = True,
        env = {"LOGLEVEL": "INFO"},
    )))
    asserts.equals(env, {
        "EXECUTION_TYPE": "MESSAGING",
        "MESSAGING_TYPE": "SqsConnection",
        "PROCESSOR_TYPE": "ReportProcessor",
    }, image_env(_attrs(execution_type = None, messaging_type = "SqsConnection", processor_type = "ReportProcessor")))
    asserts.equals(env, {
        "EXECUTION_TYPE": "BAND",
        "GEO_DEBUG": "false",
    }, image_env(_attrs(execution_type = "BAND", processor_type = None, env = {"GEO_DEBUG": "false"})))
    return unittest.end(env)

image_env_test = unittest.make(_image_env_test_impl)

def validate_test_suite(name):
    """Creates the validation unit tests and a test_suite of them.

    Args:
      name: the test_suite name.
    """
    tests = {
        "valid_attrs_test": valid_attrs_test,
        "invalid_attrs_test": invalid_attrs_test,
        "layout_test": layout_test,
        "helpers_test": helpers_test,
        "image_env_test": image_env_test,
    }
    for test_name, test_rule in tests.items():
        test_rule(name = test_name, size = "small")
    native.test_suite(name = name, tests = [":" + t for t in tests])
