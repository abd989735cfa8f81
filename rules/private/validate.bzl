"""Pure validation of rococo_service attributes and layout.

Nothing here calls a Bazel API: every function takes plain values and
returns plain values (lists of messages, dicts), so rules/tests/validate_tests.bzl
unit-tests them with bazel_skylib's unittest, asserting on the exact
messages. service.bzl calls them at loading time and fail()s with what they
return.

Every message has the form "<label>: <problem>. Fix: <fix>." so that it
names the service, what is wrong and what to do. The accepted values match
the runtime's parsers (rococo/config, rococo/cron), so a value accepted
here is accepted when the service starts.
"""

EXECUTION_TYPES = ["MESSAGING", "CRON", "BAND"]
MESSAGING_TYPES = ["RabbitMqConnection", "SqsConnection"]

# CRON_TIME_UNIT spellings (lower case) the runtime accepts, as in Python's
# schedule library.
CRON_TIME_UNITS = ["seconds", "minutes", "hours", "days", "weeks", "second", "minute", "hour", "day", "week"]

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

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# (field name, min, max, names whose index + offset is the value)
_CRON_FIELDS = [
    ("minute", 0, 59, [], 0),
    ("hour", 0, 23, [], 0),
    ("day-of-month", 1, 31, [], 0),
    ("month", 1, 12, _MONTHS, 1),
    ("day-of-week", 0, 6, _DAYS, 0),
]

def _fields(s):
    """Splits s on runs of whitespace, like Go's strings.Fields."""
    return [f for f in s.replace("\t", " ").replace("\n", " ").split(" ") if f]

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

def parse_amount(v):
    """Parses CRON_TIME_AMOUNT as the runtime does: a plain positive decimal.

    Args:
      v: an int or a string such as "5", "0.5" or ".5".

    Returns:
      A struct(ok, positive, whole), or None when v is no plain decimal.
    """
    if type(v) == "int":
        return struct(positive = v > 0, whole = True)
    if type(v) != "string":
        return None
    s = v.strip()
    whole, dot, frac = s.partition(".")
    if not dot:
        if not _all_in(whole, _DIGITS):
            return None
        return struct(positive = int(whole) > 0, whole = True)
    if not (whole or frac):
        return None
    if whole and not _all_in(whole, _DIGITS):
        return None
    if frac and not _all_in(frac, _DIGITS):
        return None
    frac_zero = not frac or _all_in(frac, "0")
    whole_zero = not whole or int(whole) == 0
    return struct(positive = not (whole_zero and frac_zero), whole = frac_zero)

def is_time_of_day(s):
    """Reports whether s is HH:MM:SS or HH:MM on a 24-hour clock.

    Args:
      s: the string.

    Returns:
      True or False.
    """
    parts = s.split(":")
    if len(parts) not in (2, 3):
        return False
    for p in parts:
        if len(p) != 2 or not _all_in(p, _DIGITS):
            return False
    limits = [23, 59, 59]
    for i, p in enumerate(parts):
        if int(p) > limits[i]:
            return False
    return True

def _cron_value(s, lo, hi, names, offset):
    """Returns the value of one crontab number or name, or None."""
    if _all_in(s, _DIGITS):
        n = int(s)
        if n < lo or n > hi:
            return None
        return n
    low = s.lower()
    if low in names:
        return names.index(low) + offset
    return None

def cron_field_error(field, spec):
    """Checks one crontab field as robfig/cron (the runtime's parser) does.

    Args:
      field: the field's text, such as "*/5", "1-5", "mon-fri" or "0,30".
      spec: one entry of _CRON_FIELDS: (name, min, max, names, offset).

    Returns:
      "" when the field is valid, else what is wrong with it.
    """
    name, lo, hi, names, offset = spec
    for item in field.split(","):
        rng, slash, step = item.partition("/")
        if slash and (not _all_in(step, _DIGITS) or int(step) == 0):
            return "%s field %r: the step after / must be a positive number" % (name, field)
        if rng in ("*", "?"):
            continue
        first, dash, last = rng.partition("-")
        a = _cron_value(first, lo, hi, names, offset)
        if a == None:
            return "%s field %r: %r is not a number %d-%d%s" % (name, field, first, lo, hi, " or a name (%s-%s)" % (names[0], names[-1]) if names else "")
        if dash:
            b = _cron_value(last, lo, hi, names, offset)
            if b == None:
                return "%s field %r: %r is not a number %d-%d%s" % (name, field, last, lo, hi, " or a name (%s-%s)" % (names[0], names[-1]) if names else "")
            if b < a:
                return "%s field %r: the range %s runs backwards" % (name, field, rng)
    return ""

def crontab_error(expr):
    """Checks one 5-field crontab expression (optionally CRON_TZ=Area/City first).

    Args:
      expr: the expression.

    Returns:
      "" when it parses, else what is wrong with it.
    """
    fields = _fields(expr)
    if fields and (fields[0].startswith("CRON_TZ=") or fields[0].startswith("TZ=")):
        fields = fields[1:]
    if len(fields) != 5:
        return "%r has %d fields, want 5 (minute hour day-of-month month day-of-week)" % (expr, len(fields))
    for i, f in enumerate(fields):
        err = cron_field_error(f, _CRON_FIELDS[i])
        if err:
            return "%r: %s" % (expr, err)
    return ""

def split_cron_expressions(s):
    """Splits CRON_EXPRESSIONS as the runtime does.

    A comma ends an expression only once it has five fields and the text
    after the comma has more than one field, so "0,30 * * * *" stays whole.

    Args:
      s: the comma-separated expressions.

    Returns:
      The list of expressions (stripped).
    """
    exprs = []
    cur = ""
    for piece in s.split(","):
        if cur == "":
            cur = piece.strip()
        elif len(_fields(cur)) < 5 or len(_fields(piece)) == 1:
            cur += "," + piece
        else:
            exprs.append(cur)
            cur = piece.strip()
    exprs.append(cur)
    return exprs

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
    if et == "MESSAGING":
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
    errs = []
    exprs = a.get("cron_expressions")
    amount = a.get("cron_time_amount")
    unit = a.get("cron_time_unit")
    run_at = a.get("cron_run_at")
    if type(exprs) == "string":
        exprs = split_cron_expressions(exprs) if exprs.strip() else []
    for e in exprs or []:
        err = crontab_error(e)
        if err:
            errs.append(_msg(label, "cron_expressions: %s" % err, 'write 5-field crontab expressions such as "*/5 * * * *" or "0 3 * * mon-fri"'))
    if not exprs and not _set(amount) and not _set(unit):
        errs.append(_msg(label, "a CRON service needs a schedule", 'set cron_expressions = ["0 3 * * *"], or cron_time_amount and cron_time_unit'))
        return errs
    if _set(amount) != _set(unit):
        missing = "cron_time_unit" if _set(amount) else "cron_time_amount"
        errs.append(_msg(label, "%s is missing: the interval needs both cron_time_amount and cron_time_unit" % missing, "set %s, or remove the other" % missing))
    parsed = None
    if _set(amount):
        parsed = parse_amount(amount)
        if parsed == None or not parsed.positive:
            errs.append(_msg(label, "cron_time_amount = %r is not a positive number" % (amount,), 'set cron_time_amount to a number above 0, such as 5 or "0.5" (fractions allowed)'))
            parsed = None
    if _set(unit) and (type(unit) != "string" or unit.strip().lower() not in CRON_TIME_UNITS):
        errs.append(_msg(label, "cron_time_unit = %r is not a valid CRON_TIME_UNIT; want one of seconds, minutes, hours, days, weeks" % (unit,), 'set cron_time_unit = "minutes" (or seconds, hours, days, weeks)'))
    if _set(run_at):
        if type(unit) != "string" or unit.strip().lower() not in ("days", "day"):
            errs.append(_msg(label, "cron_run_at = %r is set but cron_time_unit is %r; CRON_RUN_AT works only with days" % (run_at, unit), 'set cron_time_unit = "days", or remove cron_run_at'))
        if type(run_at) != "string" or not is_time_of_day(run_at):
            errs.append(_msg(label, "cron_run_at = %r is not a time of day HH:MM:SS" % (run_at,), 'set cron_run_at to a 24-hour time such as "03:30:00"'))
        if parsed != None and not parsed.whole:
            errs.append(_msg(label, "cron_time_amount = %r is not a whole number of days, which cron_run_at needs" % (amount,), "set cron_time_amount to a whole number"))
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
