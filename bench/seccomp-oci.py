#!/usr/bin/env python3
"""Docker's seccomp profile format (as in /usr/share/containers/seccomp.json)
to the OCI linux.seccomp object, for the x86_64 container the bench runs.

Usage: seccomp-oci.py PROFILE CAP... > seccomp.json

A rule is kept when every includes.caps is among CAPs and none of
excludes.caps is, and when its arches (if any) name amd64; this is how
Docker and podman resolve the profile for a container.
"""
import json
import sys

ARCH = "amd64"


def keep(rule, caps):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if not set(inc.get("caps") or []) <= caps:
        return False
    if set(exc.get("caps") or []) & caps:
        return False
    arches = inc.get("arches") or []
    if arches and ARCH not in arches:
        return False
    return ARCH not in (exc.get("arches") or [])


def main():
    profile = json.load(open(sys.argv[1]))
    caps = set(sys.argv[2:])
    archs = []
    for m in profile.get("archMap") or []:
        if m["architecture"] == "SCMP_ARCH_X86_64":
            archs = [m["architecture"]] + list(m.get("subArchitectures") or [])
    out = {"defaultAction": profile["defaultAction"], "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    for rule in profile.get("syscalls") or []:
        if not keep(rule, caps):
            continue
        r = {"names": rule["names"], "action": rule["action"]}
        for k in ("errnoRet", "args"):
            if rule.get(k):
                r[k] = rule[k]
        out["syscalls"].append(r)
    json.dump(out, sys.stdout)


main()
