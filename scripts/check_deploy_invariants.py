"""Fairness and wiring invariants of the rendered Kubernetes manifests (scripts/check-deploy.sh).

Schema validation says the manifests are well-formed; this says they are fair and wired up:
every server gets the same Guaranteed resources (requests = limits, whole CPUs), the readiness
probe of its stack and its own variant, and the generators are an Indexed Job with
completions = parallelism that targets a Service the matching server overlay deploys.
"""

import sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def load(name):
    return [d for d in yaml.safe_load_all((out / name).read_text()) if d]


def guaranteed(where, resources):
    req, lim = resources.get("requests", {}), resources.get("limits", {})
    check(req == lim, f"{where}: requests {req} != limits {lim}")
    cpu = str(lim.get("cpu", ""))
    check(cpu.isdigit() and int(cpu) >= 1, f"{where}: CPU limit {cpu!r} is not a whole number of CPUs")


for overlay in ["kind", "cluster"]:
    docs = load(f"overlays-{overlay}.yaml")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    check(deployments, f"{overlay}: no server Deployment")
    seen_resources = set()
    for d in deployments:
        name = d["metadata"]["name"]
        variant = d["metadata"]["labels"].get("rpcbench.dev/variant")
        pod = d["spec"]["template"]
        c = pod["spec"]["containers"][0]
        where = f"{overlay}/{name}"
        check(name == f"rpcbench-{variant}", f"{where}: name does not match its variant {variant}")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        check(env.get("RPCBENCH_VARIANT") == variant, f"{where}: serves {env.get('RPCBENCH_VARIANT')}, labelled {variant}")
        args = c["args"]
        check(args[:3] == ["serve", "--variant", "$(RPCBENCH_VARIANT)"], f"{where}: args {args}")
        check("--addr" in args and args[args.index("--addr") + 1] == "0.0.0.0:8080", f"{where}: not bound to 0.0.0.0:8080")
        guaranteed(where, c["resources"])
        seen_resources.add(yaml.safe_dump(c["resources"], sort_keys=True))
        probe = c.get("readinessProbe", {})
        if variant.startswith("rest-"):
            check(probe.get("httpGet", {}).get("path") == "/healthz", f"{where}: REST variant without /healthz readiness")
        else:
            check("grpc" in probe, f"{where}: gRPC variant without a gRPC readiness probe")
        check(pod["spec"]["securityContext"].get("runAsNonRoot") is True, f"{where}: may run as root")
        svc = services.get(name)
        check(svc is not None, f"{where}: no Service")
        if svc:
            sel = svc["spec"]["selector"]
            labels = pod["metadata"]["labels"]
            check(all(labels.get(k) == v for k, v in sel.items()), f"{where}: Service selector {sel} misses the pods")
            check(sel.get("rpcbench.dev/variant") == variant, f"{where}: Service would select other variants too")
    check(len(seen_resources) == 1, f"{overlay}: variants get different resources: {seen_resources}")

    docs = load(f"overlays-{overlay}-load.yaml")
    jobs = [d for d in docs if d["kind"] == "Job"]
    check(len(jobs) == 1, f"{overlay}/load: expected one Job")
    for job in jobs:
        spec = job["spec"]
        where = f"{overlay}/load/{job['metadata']['name']}"
        check(spec.get("completionMode") == "Indexed", f"{where}: not an Indexed Job")
        check(spec.get("completions") == spec.get("parallelism"), f"{where}: completions != parallelism")
        c = spec["template"]["spec"]["containers"][0]
        guaranteed(where, c["resources"])
        check("--start-at" in c["args"], f"{where}: generators without a shared start time")
    cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("rpcbench-load")]
    check(len(cm) == 1, f"{overlay}/load: expected the rpcbench-load ConfigMap")
    if cm:
        variant = cm[0]["data"]["VARIANT"]
        check(f"rpcbench-{variant}" in services, f"{overlay}/load: targets {variant}, which overlays/{overlay} does not deploy")

if failures:
    print("deploy invariants violated:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("ok: fairness and wiring invariants hold (same Guaranteed resources for every variant, probes, selectors, Indexed Job)")
