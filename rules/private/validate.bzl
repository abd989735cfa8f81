"""Pure validation of rococo_service attributes and layout.

Nothing here calls a Bazel API: every function takes plain values and
returns plain values (lists of messages, dicts), so rules/tests/validate_tests.bzl
unit-tests them with bazel_skylib's unittest, asserting on the exact
messages. service.bzl calls them at loading time and fail()s with what they
return.

Every message has the form "<label>: <problem>. Fix: <fix>." so that it
names the service, what is wrong and what to do. Only what needs no parser
is checked here (which attributes go with which execution type, names,
secrets in env); schedules and values are checked by the runtime's own Go
validation in the build action of envcheck.bzl (`:env_check`), so there is
one parser and the build accepts exactly what the service accepts at start.
"""

EXECUTION_TYPES = ["MESSAGING", "CRON", "BAND"]
MESSAGING_TYPES = ["RabbitMqConnection", "SqsConnection"]

# Env keys set through their own attributes.
MANAGED_ENV = {
    "CRON_EXPRESSIONS": "cron_expressions",
    "CRON_RUN_AT": "cron_run_at",
    "CRON_TIME_AMOUNT": "cron_time_amount",
    "CRON_TIME_UNIT": "cron_time_unit",
    "EXECUTION_TYPE": "execution_type",
    "MESSAGING_TYPE": "messaging_type",
    "PROCESSOR_TYPE": "processor_type",
    "RUN_AT_STARTUP": "run_at_startup",
}

# Parts of env keys that mark a credential. Keys are compared in upper case.
SECRET_MARKERS = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "API_KEY",
    "APIKEY",
    "CREDENTIAL",
]

_DIGITS = "0123456789"
_IDENT_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_IDENT = _IDENT_START + _DIGITS

def _msg(label, problem, fix):
    return "%s: %s. Fix: %s." % (label, problem, fix)

def _all_in(s, chars):
    if not s:
        return False
    for c in s.elems():
        if c not in chars:
            return False
    return True

def is_identifier(s):
    """Reports whether s is a Go (and env) identifier: [A-Za-z_][A-Za-z0-9_]*.

    Args:
      s: the string.

    Returns:
      True or False.
    """
    return bool(s) and s[0] in _IDENT_START and _all_in(s, _IDENT)

def _set(v):
    return v != None and v != "" and v != []

def validate_attrs(label, a):
    """Validates the execution attributes of one rococo_service.

    Args:
      label: the service's label, as messages name it ("//services/x:x").
      a: a dict with the keys execution_type, messaging_type,
        processor_type, cron_time_amount, cron_time_unit, cron_run_at,
        cron_expressions, run_at_startup and env (None when not given).

    Returns:
      A list of messages, empty when everything is valid.
    """
    errs = []
    et = a.get("execution_type") or "MESSAGING"
    if et not in EXECUTION_TYPES:
        errs.append(_msg(label, "execution_type = %r is not a valid EXECUTION_TYPE; want one of %s" % (et, ", ".join(EXECUTION_TYPES)), 'set execution_type = "MESSAGING" (consume a queue), "CRON" (run on a schedule) or "BAND" (serve Band functions)'))

    pt = a.get("processor_type")
    if not pt and et != "BAND":
        errs.append(_msg(label, "processor_type is missing; the runtime picks the processor by this name", "set processor_type to the name of a processor type defined in processor.go"))
    elif pt and not is_identifier(pt):
        errs.append(_msg(label, "processor_type = %r is not a Go type name" % pt, "set processor_type to the name of a processor type defined in processor.go"))

    mt = a.get("messaging_type")
    if _set(mt) and mt not in MESSAGING_TYPES:
        errs.append(_msg(label, "messaging_type = %r is not a valid MESSAGING_TYPE; want one of %s" % (mt, ", ".join(MESSAGING_TYPES)), 'set messaging_type = "RabbitMqConnection" or "SqsConnection"'))

    cron_attrs = ["cron_time_amount", "cron_time_unit", "cron_run_at", "cron_expressions", "run_at_startup"]
    scheduled = [attr for attr in cron_attrs if _set(a.get(attr))]
    if not a.get("execution_type") and scheduled:
        # Unset means MESSAGING; with a schedule the user meant CRON.
        errs.append(_msg(label, "%s is set but execution_type is not, and a service without execution_type is MESSAGING" % scheduled[0], 'set execution_type = "CRON" to run on that schedule'))
    elif et == "MESSAGING":
        if not _set(mt):
            errs.append(_msg(label, "messaging_type is missing; a MESSAGING service needs a broker", 'set messaging_type = "RabbitMqConnection" or "SqsConnection"'))
        for attr in cron_attrs:
            if _set(a.get(attr)):
                errs.append(_msg(label, "%s is set but execution_type is MESSAGING" % attr, 'remove %s, or set execution_type = "CRON"' % attr))
    elif et == "CRON":
        errs.extend(_validate_cron(label, a))
    elif et == "BAND":
        errs.extend(_validate_band(label, a, cron_attrs))

    errs.extend(_validate_env(label, a.get("env") or {}))
    return errs

def _validate_cron(label, a):
    """The schedule's shape; its values are checked by the runtime's validation (envcheck.bzl)."""
    errs = []
    exprs = a.get("cron_expressions")
    amount = a.get("cron_time_amount")
    unit = a.get("cron_time_unit")
    run_at = a.get("cron_run_at")
    if exprs != None and type(exprs) not in ("list", "string"):
        errs.append(_msg(label, "cron_expressions = %r is not a list of crontab expressions" % (exprs,), 'set cron_expressions = ["0 3 * * *"]'))
    if not _set(exprs) and not _set(amount) and not _set(unit):
        errs.append(_msg(label, "a CRON service needs a schedule", 'set cron_expressions = ["0 3 * * *"], or cron_time_amount and cron_time_unit'))
        return errs
    if _set(amount) != _set(unit):
        missing = "cron_time_unit" if _set(amount) else "cron_time_amount"
        errs.append(_msg(label, "%s is missing: the interval needs both cron_time_amount and cron_time_unit" % missing, "set %s, or remove the other" % missing))
    if _set(unit) and type(unit) != "string":
        errs.append(_msg(label, "cron_time_unit = %r is not a string" % (unit,), 'set cron_time_unit = "minutes" (or seconds, hours, days, weeks)'))
    if _set(amount) and type(amount) not in ("int", "string"):
        errs.append(_msg(label, "cron_time_amount = %r is neither a number nor a string" % (amount,), 'set cron_time_amount = 5, or "0.5" for a fraction'))
    if _set(run_at) and type(run_at) != "string":
        errs.append(_msg(label, "cron_run_at = %r is not a string" % (run_at,), 'set cron_run_at to a 24-hour time such as "03:30:00"'))
    rs = a.get("run_at_startup")
    if rs != None and type(rs) != "bool":
        errs.append(_msg(label, "run_at_startup = %r is not a bool" % (rs,), "set run_at_startup = True or False"))
    return errs

def _validate_band(label, a, cron_attrs):
    """A BAND service runs the functions registered in processor.go: no processor or schedule of its own."""
    errs = []
    for attr in cron_attrs:
        if _set(a.get(attr)):
            errs.append(_msg(label, "%s is set but execution_type is BAND" % attr, 'remove %s (schedule a Band function with s.Every or s.Crontab), or set execution_type = "CRON"' % attr))
    return errs

def secret_marker(key):
    """Returns the secret marker found in an env key, or "".

    Args:
      key: the env key.

    Returns:
      The marker, such as "PASSWORD", or "".
    """
    up = key.upper()
    for m in SECRET_MARKERS:
        if m in up:
            return m
    return ""

def _validate_env(label, env):
    errs = []
    for k in sorted(env.keys()):
        v = env[k]
        if not is_identifier(k):
            errs.append(_msg(label, "env key %r is not a valid variable name" % k, "use letters, digits and _ only, not starting with a digit"))
            continue
        if k in MANAGED_ENV:
            errs.append(_msg(label, "env sets %s, which the %s attribute controls" % (k, MANAGED_ENV[k]), "remove %s from env and set %s = ... instead" % (k, MANAGED_ENV[k])))
            continue
        m = secret_marker(k)
        if m:
            errs.append(_msg(label, "env key %s looks like a secret (it contains %s); anyone who can pull the image could read it" % (k, m), "remove %s from env and give it at run time (the container's environment, an orchestrator secret, or .env.local)" % k))
            continue
        if type(v) != "string":
            errs.append(_msg(label, "env %s = %r is not a string" % (k, v), 'quote the value: %s = "%s"' % (k, v)))
    return errs

def image_env(a):
    """Returns the environment baked into the image.

    Args:
      a: the attribute dict validate_attrs takes (already valid).

    Returns:
      A dict of env name to value.
    """
    env = dict(a.get("env") or {})
    et = a.get("execution_type") or "MESSAGING"
    env["EXECUTION_TYPE"] = et
    if _set(a.get("processor_type")):
        env["PROCESSOR_TYPE"] = a["processor_type"]
    if _set(a.get("messaging_type")):
        env["MESSAGING_TYPE"] = a["messaging_type"]
    if et == "CRON":
        exprs = a.get("cron_expressions")
        if type(exprs) == "list" and exprs:
            env["CRON_EXPRESSIONS"] = ",".join([e.strip() for e in exprs])
        elif type(exprs) == "string" and exprs.strip():
            env["CRON_EXPRESSIONS"] = exprs.strip()
        if _set(a.get("cron_time_amount")):
            env["CRON_TIME_AMOUNT"] = str(a["cron_time_amount"]).strip()
            env["CRON_TIME_UNIT"] = a["cron_time_unit"].strip().lower()
        if _set(a.get("cron_run_at")):
            env["CRON_RUN_AT"] = a["cron_run_at"]
        if a.get("run_at_startup") != None:
            env["RUN_AT_STARTUP"] = "true" if a["run_at_startup"] else "false"
    return env

def validate_layout(label, package, layout):
    """Validates what loading sees of a service's files (docs/service-layout.md).

    Args:
      label: the service's label, as messages name it.
      package: the service's package, such as "services/x".
      layout: a struct with
        processor: True when processor.go exists;
        readme: True when README.md exists;
        lib: "package" (lib/ is a Bazel package), "go_files_no_build"
          (lib/ has .go files but no BUILD.bazel), "no_go" (lib/ holds no
          .go file) or "missing";
        lib_in_deps: True, False, or None when the embedded library is not
          visible yet (declared after the rococo_service call).

    Returns:
      A list of messages, empty when the layout is valid.
    """
    errs = []
    if not layout.processor:
        errs.append(_msg(label, "processor.go is missing from %s" % package, "add %s/processor.go (package main) defining the processor type(s) and a one-line main calling common.Main" % package))
    if not layout.readme:
        errs.append(_msg(label, "README.md is missing from %s" % package, "add %s/README.md describing the service, how to run it and its env variables" % package))
    if layout.lib == "missing":
        errs.append(_msg(label, "lib/ is missing from %s; the business logic lives in the lib package" % package, "create %s/lib/ with a Go package (and its tests), then run bazel run //:gazelle" % package))
    elif layout.lib == "no_go":
        errs.append(_msg(label, "%s/lib/ has no Go files" % package, "put the business logic in %s/lib/*.go, then run bazel run //:gazelle" % package))
    elif layout.lib == "go_files_no_build":
        errs.append(_msg(label, "%s/lib/ has Go files but no BUILD.bazel" % package, "run bazel run //:gazelle to generate %s/lib/BUILD.bazel" % package))
    if layout.lib_in_deps == False:
        errs.append(_msg(label, "the service's code does not depend on //%s/lib" % package, "import \"<module>/%s/lib\" from processor.go and run bazel run //:gazelle" % package))
    return errs

def is_lib_label(dep, package):
    """Reports whether dep names the library in package's lib/.

    Args:
      dep: a label string or Label, absolute or relative ("//p/lib",
        "//p/lib:lib", "@@//p/lib:lib", "@rococo//p/lib", "//p/lib:x").
      package: the service's package, such as "services/x".

    Returns:
      True or False.
    """
    s = str(dep)
    if s.startswith("@"):
        i = s.find("//")
        if i < 0:
            return False
        s = s[i:]
    if s.startswith("//"):
        pkg = s[2:].partition(":")[0]
        return pkg == package + "/lib"
    return False
