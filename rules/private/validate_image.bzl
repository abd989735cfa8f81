"""Pure validation of rococo_service's image, push and Kubernetes attributes.

Like validate.bzl, nothing here calls a Bazel API: the functions take plain
values and return lists of messages "<label>: <problem>. Fix: <fix>.",
unit-tested on exact strings in rules/tests/validate_image_tests.bzl.
service.bzl calls them at loading time. The Go tools check the same values
again when they run (//tools/imagebuilder, //tools/k8s), so a value that gets
past these checks still fails with a message, in the action.
"""

# Platforms a pure Go binary is built for and the image checks (ELF machine).
SUPPORTED_PLATFORMS = ["linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/riscv64"]

DEFAULT_PLATFORMS = ["linux/amd64", "linux/arm64"]

# Labels and annotations the rule sets itself, with the attribute that does.
RESERVED_KEYS = {
    "org.opencontainers.image.created": "build stamping (--stamp sets the build time, else the epoch)",
    "org.opencontainers.image.revision": "build stamping (--stamp sets the git commit)",
    "org.opencontainers.image.source": "the source attribute",
    "org.opencontainers.image.title": "the service name",
    "org.opencontainers.image.version": "the version attribute",
}

# Where config files the service package holds go in the image: the
# runtime's working directory, from which it reads them.
CONFIG_FILES = ["config.yaml", "custom.yaml"]
WORKDIR = "/app"

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_TAG_CHARS = _LOWER + _LOWER.upper() + _DIGITS + "_.-"
_PORT_PROTOCOLS = ["tcp", "udp", "sctp"]
_QUANTITY_SUFFIXES = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_RESOURCE_NAMES = ["cpu", "memory", "ephemeral-storage"]

def _msg(label, problem, fix):
    return "%s: %s. Fix: %s." % (label, problem, fix)

def _all_in(s, chars):
    if not s:
        return False
    for c in s.elems():
        if c not in chars:
            return False
    return True

def _without_placeholders(s):
    """Returns s with each {KEY} placeholder replaced by "x"."""
    out = ""
    rest = s
    for _ in range(len(s)):
        i = rest.find("{")
        j = rest.find("}", i + 1) if i >= 0 else -1
        if i < 0 or j < 0:
            break
        out += rest[:i] + "x"
        rest = rest[j + 1:]
    return out + rest

def is_tag(s):
    """Reports whether s is an image tag (placeholders {KEY} allowed).

    Args:
      s: the tag.

    Returns:
      True or False: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} once placeholders
      are filled.
    """
    t = _without_placeholders(s)
    return len(t) <= 128 and _all_in(t, _TAG_CHARS) and t[0] not in ".-"

def repository_error(repo):
    """Checks a [REGISTRY/]PATH image repository.

    Args:
      repo: the repository, such as "ghcr.io/acme/email",
        "localhost:5000/rococo/email" or "rococo/email"; {KEY}
        placeholders allowed.

    Returns:
      "" when valid, else what is wrong.
    """
    r = _without_placeholders(repo)
    if "@" in r:
        return "holds a digest"
    parts = r.split("/")

    # As docker reads it: the first component is a registry when it has a
    # dot or a port, or is localhost.
    host = ""
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        host = parts[0]
        parts = parts[1:]
    if ":" in parts[-1]:
        return "holds a tag"
    if host:
        name, colon, port = host.partition(":")
        if colon and not _all_in(port, _DIGITS):
            return "has a bad registry port %r" % port
        if not _all_in(name, _LOWER + _DIGITS + ".-"):
            return "has a bad registry host %r" % name
    for p in parts:
        if not _all_in(p, _LOWER + _DIGITS + "._-"):
            return "has the path component %r; want lowercase letters, digits, . _ -" % p
    return ""

def port_error(p):
    """Checks an exposed port: PORT or PORT/PROTO.

    Args:
      p: the port, such as "8080", "8080/tcp" or "53/udp".

    Returns:
      "" when valid, else what is wrong.
    """
    if type(p) != "string":
        return "%r is not a string" % (p,)
    port, slash, proto = p.partition("/")
    if not _all_in(port, _DIGITS) or port.startswith("0") or int(port) > 65535:
        return "%r: the port must be a number 1 to 65535" % p
    if slash and proto not in _PORT_PROTOCOLS:
        return "%r: the protocol must be tcp, udp or sctp" % p
    return ""

def is_image_path(p):
    """Reports whether p is an absolute, clean path in the image.

    Args:
      p: the path; a trailing "/" (a directory) is allowed.

    Returns:
      True or False.
    """
    if type(p) != "string" or not p.startswith("/") or p == "/":
        return False
    body = p[1:-1] if p.endswith("/") else p[1:]
    for part in body.split("/"):
        if part in ("", ".", ".."):
            return False
    return True

def quantity_error(q):
    """Checks a Kubernetes resource quantity as its parser reads most of them.

    Args:
      q: the quantity, such as "500m", "0.5", "128Mi" or "1G".

    Returns:
      "" when valid, else what is wrong.
    """
    if type(q) == "int" and q >= 0:
        return ""
    if type(q) != "string":
        return "%r is not a quantity" % (q,)
    num = q
    suffix = ""
    for i in range(len(q)):
        if q[i] not in _DIGITS + ".":
            num = q[:i]
            suffix = q[i:]
            break
    whole, _, frac = num.partition(".")
    if not (_all_in(whole, _DIGITS) or (whole == "" and frac)) or (frac and not _all_in(frac, _DIGITS)) or num.count(".") > 1:
        return "%r is not a quantity" % q
    if suffix not in _QUANTITY_SUFFIXES:
        return "%r has the unit %r; want one of m, k, M, G, T, Ki, Mi, Gi, Ti (or none)" % (q, suffix)
    return ""

def _string_dict_errors(label, attr, d):
    errs = []
    if type(d) != "dict":
        return [_msg(label, "%s = %r is not a dict" % (attr, d), '%s = {"com.example.team": "payments"}' % attr)]
    for k in sorted(d.keys()):
        v = d[k]
        if type(k) != "string" or not k or " " in k or "\t" in k:
            errs.append(_msg(label, "%s key %r is not a label key" % (attr, k), "use a non-empty key without spaces, such as com.example.team"))
        elif k in RESERVED_KEYS:
            errs.append(_msg(label, "%s sets %s, which the rule sets from %s" % (attr, k, RESERVED_KEYS[k]), "remove %s from %s" % (k, attr)))
        elif type(v) != "string":
            errs.append(_msg(label, "%s %s = %r is not a string" % (attr, k, v), 'quote the value: "%s"' % (v,)))
    return errs

def validate_image_attrs(label, name, a):
    """Validates the image and push attributes of one rococo_service.

    Args:
      label: the service's label, as messages name it.
      name: the service name (its binary is /app/<name>).
      a: a dict with the keys labels, annotations, exposed_ports, files (a
        dict of label string to image path), config_files (the image paths
        the service's config files go to), tars, platforms, args,
        repository, repository_file, remote_tags (a list, or a label
        string of a tags file) and repo_tags.

    Returns:
      A list of messages, empty when everything is valid.
    """
    errs = []
    errs.extend(_string_dict_errors(label, "labels", a.get("labels") or {}))
    errs.extend(_string_dict_errors(label, "annotations", a.get("annotations") or {}))

    for p in a.get("exposed_ports") or []:
        err = port_error(p)
        if err:
            errs.append(_msg(label, "exposed_ports: %s" % err, 'write ports as "8080/tcp", "53/udp" or "8080"'))

    platforms = a.get("platforms")
    if platforms != None:
        if type(platforms) != "list" or not platforms:
            errs.append(_msg(label, "platforms = %r is not a non-empty list" % (platforms,), "set platforms = %r or leave it out" % DEFAULT_PLATFORMS))
        else:
            seen = {}
            for p in platforms:
                if p not in SUPPORTED_PLATFORMS:
                    errs.append(_msg(label, "platforms: %r is not a supported platform" % (p,), "use some of %s" % ", ".join(SUPPORTED_PLATFORMS)))
                elif p in seen:
                    errs.append(_msg(label, "platforms lists %s twice" % p, "list each platform once"))
                seen[p] = True

    args = a.get("args") or []
    if type(args) != "list" or [x for x in args if type(x) != "string"]:
        errs.append(_msg(label, "args = %r is not a list of strings" % (args,), 'set args = ["--once"] (arguments of /app/%s)' % name))

    entry = "%s/%s" % (WORKDIR, name)
    config = a.get("config_files") or []
    files = a.get("files") or {}
    if type(files) != "dict":
        errs.append(_msg(label, "files = %r is not a dict of label to image path" % (files,), 'files = {"migrations/001.sql": "/app/migrations/001.sql"}'))
        files = {}
    dests = {}
    for src in files.keys():
        dest = files[src]
        if not is_image_path(dest):
            errs.append(_msg(label, "files: %s goes to %r, which is not an absolute, clean path in the image" % (src, dest), "map it to a path such as /app/%s, or a directory ending in /" % src.split(":")[-1].split("/")[-1]))
        elif dest == "/tmp" or dest.startswith("/tmp/"):
            errs.append(_msg(label, "files: %s goes to %s, under /tmp, which Kubernetes mounts an empty volume over" % (src, dest), "put it under /app or /etc"))
        elif dest == entry or dest == entry + "/":
            errs.append(_msg(label, "files: %s goes to %s, the service binary" % (src, dest), "put it elsewhere, such as %s/" % WORKDIR))
        elif dest in config:
            errs.append(_msg(label, "files: %s goes to %s, where rococo_service ships the service's own %s" % (src, dest, dest.split("/")[-1]), "remove it from files: %s in the service package is shipped there already" % dest.split("/")[-1]))
        elif dest in dests:
            errs.append(_msg(label, "files: %s and %s both go to %s" % (dests[dest], src, dest), "give each file its own path"))
        dests[dest] = src

    tars = a.get("tars") or []
    if type(tars) != "list":
        errs.append(_msg(label, "tars = %r is not a list of tar files" % (tars,), 'set tars = [":assets.tar"]'))

    repo = a.get("repository") or ""
    if repo and a.get("repository_file"):
        errs.append(_msg(label, "repository and repository_file are both set", "keep one of them"))
    if repo:
        err = repository_error(repo)
        if err:
            errs.append(_msg(label, "repository = %r %s" % (repo, err), 'set repository = "REGISTRY/PATH" such as "ghcr.io/acme/%s", and tags in remote_tags' % name))

    tags = a.get("remote_tags")
    if type(tags) == "list":
        for t in tags:
            if type(t) != "string" or not is_tag(t):
                errs.append(_msg(label, "remote_tags: %r is not an image tag" % (t,), "use letters, digits, _ . - (at most 128, not starting with . or -), and {KEY} placeholders such as git-{STABLE_GIT_COMMIT}"))
    elif type(tags) != "string":
        errs.append(_msg(label, "remote_tags = %r is neither a list of tags nor the label of a tags file" % (tags,), 'set remote_tags = ["latest"] or remote_tags = ":tags.txt"'))

    for rt in a.get("repo_tags") or []:
        r, colon, t = rt.rpartition(":")
        if not colon or "/" in t or not is_tag(t) or repository_error(r):
            errs.append(_msg(label, "repo_tags: %r is not REPOSITORY:TAG" % (rt,), 'write it as "rococo/%s:dev" or "localhost:5000/%s:latest"' % (name, name)))
    return errs

def validate_k8s_attrs(label, a):
    """Validates the Kubernetes attributes of one rococo_service.

    Args:
      label: the service's label, as messages name it.
      a: a dict with the keys replicas, resources (a dict with "requests"
        and/or "limits", each a dict of cpu, memory, ephemeral-storage to a
        quantity) and pod_disruption_budget (a dict with one of
        min_available or max_unavailable: a count or "N%").

    Returns:
      A list of messages, empty when everything is valid.
    """
    errs = []
    replicas = a.get("replicas")
    if replicas != None and (type(replicas) != "int" or replicas < 1):
        errs.append(_msg(label, "replicas = %r is not a whole number of at least 1" % (replicas,), "set replicas = 2 (or leave it out for 1)"))

    resources = a.get("resources") or {}
    if type(resources) != "dict":
        errs.append(_msg(label, "resources = %r is not a dict" % (resources,), 'set resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}'))
        resources = {}
    for kind in sorted(resources.keys()):
        if kind not in ("requests", "limits"):
            errs.append(_msg(label, "resources: %r is neither requests nor limits" % (kind,), 'use resources = {"requests": {...}, "limits": {...}}'))
            continue
        rs = resources[kind]
        if type(rs) != "dict":
            errs.append(_msg(label, "resources %s = %r is not a dict" % (kind, rs), '%s = {"cpu": "100m", "memory": "64Mi"}' % kind))
            continue
        for r in sorted(rs.keys()):
            if r not in _RESOURCE_NAMES:
                errs.append(_msg(label, "resources %s: %r is not a resource" % (kind, r), "use %s" % ", ".join(_RESOURCE_NAMES)))
                continue
            err = quantity_error(rs[r])
            if err:
                errs.append(_msg(label, "resources %s %s: %s" % (kind, r, err), 'write a quantity such as "500m" or "0.5" (cpu), "128Mi" or "1Gi" (memory)'))

    pdb = a.get("pod_disruption_budget")
    if pdb != None:
        keys = sorted(pdb.keys()) if type(pdb) == "dict" else []
        if len(keys) != 1 or keys[0] not in ("min_available", "max_unavailable"):
            errs.append(_msg(label, "pod_disruption_budget = %r needs exactly one of min_available or max_unavailable" % (pdb,), 'set pod_disruption_budget = {"max_unavailable": 1} (or "25%")'))
        else:
            v = pdb[keys[0]]
            ok = (type(v) == "int" and v >= 0) or (type(v) == "string" and v.endswith("%") and _all_in(v[:-1], _DIGITS) and int(v[:-1]) <= 100)
            if not ok:
                errs.append(_msg(label, "pod_disruption_budget %s = %r is neither a count nor a percentage" % (keys[0], v), 'write a count such as 1 or a percentage such as "25%"'))
    return errs
