"""apt for setup-interpreters: the system's (root or sudo -n), and private per-suite folders in the cache.

Standard library only, Python 3.7 syntax (see provision.py).
"""
import glob
import os
import re

from gilcore.pythons.steps import Step, have, output, read_lines, run, say

APT_LOCK = ["-o", "DPkg::Lock::Timeout=600"]


def debian_mirror():
    """(uri, keyring) of the first http(s) Debian mirror in the machine's own apt sources, or None."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for uri, key in _deb822_mirrors(path):
            if re.match(r"^https?://", uri):
                return uri, key
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        for uri, key in _one_line_mirrors(path):
            if re.match(r"^https?://", uri):
                return uri, key
    return None


def _deb822_mirrors(path):
    paragraphs, fields = [], {}
    for line in read_lines(path) + [""]:
        if re.match(r"^[ \t]*#", line):
            continue
        if not line.strip():
            if fields:
                paragraphs.append(fields)
            fields = {}
        elif not line[0] in " \t" and ":" in line:  # continuation lines (an inline key) are passed over
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    for fields in paragraphs:
        uri = (fields.get("uris", "").split() or [""])[0]
        key = (fields.get("signed-by", "").split() or [""])[0]
        if (uri and "deb" in fields.get("types", "") and "security" not in fields.get("suites", "")
                and "security" not in uri and "main" in fields.get("components", "").split()
                and not fields.get("enabled", "").lower().startswith("no")):
            yield uri, key if key.startswith("/") else ""


def _one_line_mirrors(path):
    for line in read_lines(path):
        if not re.match(r"^[ \t]*deb(-src)?[ \t]", line):
            continue
        key = ""
        options = re.search(r"\[([^]]*)\]", line)
        if options:
            line = line[:options.start()] + line[options.end():]
            for option in options.group(1).split():
                if option.startswith("signed-by="):
                    key = option[len("signed-by="):]
        words = line.split()
        if len(words) < 3 or "security" in words[1] or "security" in words[2]:
            continue
        yield words[1], key if key.startswith("/") else ""


class Apt(object):
    """The system's apt (root or sudo -n), and private per-suite apt folders in the cache."""

    def __init__(self, cache, logs):
        self.cache, self.logs = cache, logs
        self.is_debian = os.path.isfile("/etc/debian_version") and have("apt-get") and have("dpkg-query")
        self.root_cmd = []
        self.can_root = os.getuid() == 0
        if not self.can_root and have("sudo") and run(["sudo", "-n", "true"]):
            self.can_root, self.root_cmd = True, ["sudo", "-n"]
        self.updated = None  # None: not tried; then True or False
        self.suites = {}  # suite -> True (lists updated) | False

    @staticmethod
    def installed(package):
        status = output(["dpkg-query", "-W", "-f=${Status}", package])
        return status is not None and "install ok installed" in status

    def update_once(self):
        if self.updated is None:
            step = Step("apt-get update")
            log = os.path.join(self.logs, "apt-update.log")
            self.updated = run(self.root_cmd + ["apt-get", "-q"] + APT_LOCK + ["update"], log)
            if self.updated:
                step.ok()
            else:
                step.failed("see %s (going on with the old package lists)" % log)
        return self.updated

    def ensure(self, label, packages):
        """Installs the missing packages; one line per failure. True when all are installed."""
        need = [p for p in packages if not self.installed(p)]
        if not need:
            return True
        if not self.is_debian:
            say("%s: cannot install %s: not a Debian system with apt-get" % (label, " ".join(need)))
            return False
        if not self.can_root:
            say("%s: cannot install %s: needs root (run: sudo apt-get install %s)" % (label, " ".join(need), " ".join(need)))
            return False
        self.update_once()
        log = os.path.join(self.logs, "apt-install-%s.log" % label)
        install = self.root_cmd + ["apt-get", "-q", "-y"] + APT_LOCK + ["-o", "Dpkg::Use-Pty=0", "install"]
        step = Step("%s: apt-get install %s" % (label, " ".join(need)))
        if run(install + need, log):
            return step.ok()
        step.failed("see %s; trying one by one" % log)
        every = True
        for package in need:
            if self.installed(package):
                continue
            step = Step("%s: apt-get install %s" % (label, package))
            if run(install + [package], log, append=True):
                step.ok()
            else:
                every = step.failed("apt-get install %s did not work (log: %s)" % (package, log))
        return every

    def private_options(self, suite):
        """apt options for a private folder of one Debian suite: the machine's apt setup is never touched,
        and an empty dpkg status makes apt resolve a package's whole dependency closure."""
        folder = os.path.join(self.cache, "apt-" + suite)
        options = ["-o", "Dir::Etc::sourcelist=/dev/null", "-o", "Dir::Etc::sourceparts=%s/sources" % folder,
                   "-o", "Dir::Etc::preferences=/dev/null", "-o", "Dir::Etc::preferencesparts=/dev/null",
                   "-o", "Dir::State=%s/state" % folder, "-o", "Dir::State::status=%s/state/status" % folder,
                   "-o", "Dir::State::Lists=%s/lists" % folder, "-o", "Dir::Cache=%s/cache" % folder,
                   "-o", "APT::Install-Recommends=false", "-o", "APT::Get::AllowUnauthenticated=false"]
        if os.getuid() == 0:
            options += ["-o", "APT::Sandbox::User=root"]
        return options

    def private(self, suite):
        """Updates the suite's private package lists once per run; True when they are usable."""
        if suite in self.suites:
            return self.suites[suite]
        self.suites[suite] = False
        if not self.is_debian:
            say("apt (%s): not a Debian system with apt-get" % suite)
            return False
        mirror = debian_mirror()
        if mirror is None:
            say("apt (%s): no http(s) Debian mirror named in /etc/apt/sources.list.d/*.sources or "
                "/etc/apt/sources.list" % suite)
            return False
        uri, key = mirror
        if not key or not os.access(key, os.R_OK):
            key = next((k for k in ("/usr/share/keyrings/debian-archive-keyring.pgp",
                                    "/usr/share/keyrings/debian-archive-keyring.gpg") if os.access(k, os.R_OK)), "")
        folder = os.path.join(self.cache, "apt-" + suite)
        for sub in ("sources", "state", "lists/partial", "cache/archives/partial", "debs"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        open(os.path.join(folder, "state", "status"), "w").close()
        for old in glob.glob(os.path.join(folder, "sources", "*.sources")):
            os.remove(old)
        with open(os.path.join(folder, "sources", suite + ".sources"), "w") as handle:
            handle.write("Types: %s\nURIs: %s\nSuites: %s\nComponents: main\n%s" % (
                "deb deb-src" if suite == "unstable" else "deb-src", uri, suite,
                "Signed-By: %s\n" % key if key else ""))
        step = Step("apt (%s): update a private package list (%s)" % (suite, folder))
        log = os.path.join(self.logs, "apt-%s-update.log" % suite)
        if not run(["apt-get", "-q"] + self.private_options(suite) + ["update"], log):
            return step.failed("see " + log)
        warned = any(re.match(r"^(W|E): ", line) for line in read_lines(log))
        step.ok("with warnings, see " + log if warned else "")
        self.suites[suite] = True
        return True
