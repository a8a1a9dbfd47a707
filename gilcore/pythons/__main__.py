"""``python3 gilcore/pythons provision|discovery ARGS``: run before gilcore is built.

scripts/setup-interpreters runs this folder with the machine's python3 (3.7 or
newer). The gilcore package is not imported (its __init__ needs a built gilcore
and a newer Python): a bare package stands in for it, so the stdlib-only modules
here (and gilcore/paths.py) import each other by their usual names.
"""
import os
import sys
import types

COMMANDS = ("provision", "discovery")

if not __package__:  # run as a folder: this folder is sys.path[0], gilcore may be unbuilt
    sys.path.pop(0)
    bare = types.ModuleType("gilcore")
    bare.__path__ = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    sys.modules.setdefault("gilcore", bare)


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print("usage: python3 gilcore/pythons {%s} [ARGS]" % "|".join(COMMANDS), file=sys.stderr)
        return 2
    if argv[0] == "provision":
        from gilcore.pythons import provision as command
    else:
        from gilcore.pythons import discovery as command
    return command.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
