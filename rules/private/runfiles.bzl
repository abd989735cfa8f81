"""Helpers for the shell scripts the rules generate: find a file in runfiles, quote for bash."""

def rpath(ctx, f):
    """Returns the path of f under the runfiles directory.

    Args:
      ctx: the rule context.
      f: a File in the target's runfiles.

    Returns:
      The path relative to $RUNFILES_DIR.
    """
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

def shell_quote(s):
    """Returns s quoted for bash.

    Args:
      s: a string.

    Returns:
      s in single quotes, with single quotes inside escaped.
    """
    return "'" + s.replace("'", "'\\''") + "'"

def runfile(ctx, f):
    """Returns a bash expression for the path of f in $RUNFILES_DIR.

    Args:
      ctx: the rule context.
      f: a File in the target's runfiles.

    Returns:
      A quoted bash word.
    """
    return '"$RUNFILES_DIR"/' + shell_quote(rpath(ctx, f))
