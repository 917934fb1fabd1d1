#!/usr/bin/env bash
# Builds the Prowler task's image (prowler-task/Dockerfile, context: the
# repository) with the container engine that is there, as
# citadel-prowler:<Prowler version> and citadel-prowler:latest (`make image`;
# docs/image.md).
#
#   scripts/image.sh               build for the host's architecture
#   scripts/image.sh constraints   regenerate prowler-task/constraints.txt
#
# Settings (environment):
#   IMAGE_ENGINE    docker or podman; default docker when its daemon answers,
#                   else podman (installed with apt when missing)
#   IMAGE_PLATFORM  linux/amd64 or linux/arm64 (default: the host's); another
#                   architecture runs under qemu-user-static and is tagged
#                   <version>-<arch> and latest-<arch>
#   IMAGE_NAME      default citadel-prowler
#   IMAGE_CA_FILE   the CA bundle pip and Go trust in the build (a build
#                   secret); default $PIP_CERT, else the host's
#                   /etc/ssl/certs/ca-certificates.crt; empty: none
#   PIP_INDEX_URL, GOPROXY   passed to the build when set
#   PROWLER_SLIM    false: Prowler with every provider's SDK (default true)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dockerfile=prowler-task/Dockerfile
constraints=prowler-task/constraints.txt
log() { echo "image: $*" >&2; }
arg() { sed -n "s/^ARG $1=\(.*\)$/\1/p" "$dockerfile" | head -1; }
prowler_version=$(arg PROWLER_VERSION)
python_version=$(arg PYTHON_VERSION)

# --- constraints: Prowler's whole tree, pinned, from a throwaway venv ------
# The lines of packages Prowler's AWS scans never import are marked
# "# not-in-image: <why>"; the image leaves them out (.venv installs them).
constraints() {
  local py venv
  py=$(command -v "python$python_version" || command -v python3)
  "$py" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$python_version', sys.version" ||
    { log "constraints need Python $python_version (the image's)"; exit 1; }
  # CONSTRAINTS_VENV: a virtualenv that has just prowler==<version> (kept).
  venv=${CONSTRAINTS_VENV:-}
  if [ -z "$venv" ]; then
    venv=$(mktemp -d /tmp/citadel-constraints.XXXXXX)
    trap 'rm -rf "$venv"' RETURN
    log "installing prowler==$prowler_version into $venv (a few minutes)"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "prowler==$prowler_version"
  fi
  "$venv/bin/python" - "$constraints" "$prowler_version" <<'PY'
import datetime, importlib.metadata as md, re, subprocess, sys
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name as cn

out, version = sys.argv[1], sys.argv[2]
# Families an AWS scan does not use: other clouds' SDKs and the dashboard.
# google-auth, kubernetes, alibabacloud-*, stackit-* stay: Prowler imports
# them at start-up whatever the provider.
FAMILIES = [
    (r"azure-.*|msal|msal-extensions|msrest|msrestazure", "Azure SDK"),
    (r"msgraph-.*|microsoft-kiota-.*", "Microsoft 365 (MS Graph) SDK"),
    (r"oci", "Oracle Cloud SDK"),
    (r"google-api-python-client|google-api-core|googleapis-common-protos|google-auth-httplib2",
     "Google Cloud/Workspace API client"),
    (r"cloudflare", "Cloudflare SDK"),
    (r"okta", "Okta SDK"),
    (r"huaweicloudsdk.*", "Huawei Cloud SDK"),
    (r"openstacksdk", "OpenStack SDK"),
    (r"scaleway|scaleway-core", "Scaleway SDK"),
    (r"linode-api4", "Linode SDK"),
    (r"pygithub", "GitHub SDK"),
    (r"pymongo", "MongoDB Atlas driver"),
    (r"dash|dash-bootstrap-components|plotly|pandas|numpy", "prowler dashboard (web UI)"),
]
# Pins `make venv` leaves to pip, because a tool beside Prowler in .venv
# cannot live with them (prowler-task/venv_test.go checks the rest hold).
VENV_UNPINNED = {
    "referencing": "moto[server]'s openapi-spec-validator 0.7 wants referencing<0.37; with 0.37 pip takes 0.5.5, "
                   "whose openapi-schema-validator 0.4.3 cannot import jsonschema 4.23 (moto's CloudFormation fails)",
}
dists = {cn(d.metadata["Name"]): d for d in md.distributions()}
requires = {}
for name, d in dists.items():
    rs = set()
    for r in d.requires or []:
        req = Requirement(r)
        if req.marker and ("extra" in str(req.marker) or not req.marker.evaluate()):
            continue
        rs.add(cn(req.name))
    requires[name] = rs
why = {}
for name in dists:
    for pattern, reason in FAMILIES:
        if re.fullmatch(pattern, name):
            why[name] = reason
# What `prowler aws --help` imports (every provider's start-up imports).
probe = r'''
import atexit, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\n".join(sys.modules)))
sys.argv = ["prowler", "aws", "--help"]
from prowler.__main__ import prowler
prowler()
'''
import tempfile, os
mods_file = tempfile.mktemp()
subprocess.run([sys.executable, "-c", probe, mods_file], check=True, stdout=subprocess.DEVNULL)
loaded = set(open(mods_file).read().split())
os.unlink(mods_file)
def modules(d):
    for f in d.files or []:
        p = str(f)
        if p.endswith(".py") and not p.startswith(".."):
            m = p[:-3].replace("/", ".")
            yield m[:-9] if m.endswith(".__init__") else m
# And what the code an AWS scan runs imports anywhere (imports inside
# functions too): Prowler's lib, config and the aws and common providers.
import pathlib
pkg = pathlib.Path(md.distribution("prowler").locate_file("prowler"))
imp = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
for sub in ("__main__.py", "lib", "config", "providers/aws", "providers/common"):
    for f in [pkg / sub] if sub.endswith(".py") else (pkg / sub).rglob("*.py"):
        loaded.update(imp.findall(f.read_text(errors="replace")))
def used(name):
    return any(m in loaded for m in modules(dists[name]))
# A package only dropped packages need goes too, unless Prowler imports it
# (some it imports without declaring them).
changed = True
while changed:
    changed = False
    for name in dists:
        if name in why or name in ("pip", "setuptools", "wheel") or used(name):
            continue
        users = [u for u, rs in requires.items() if name in rs]
        if users and all(u in why for u in users):
            why[name] = "only for " + sorted(users)[0]
            changed = True

# Proof: no family is imported at start-up.
bad = sorted(n for n in why if used(n))
if bad:
    sys.exit(f"constraints: marked not-in-image but imported by `prowler aws --help`: {bad}")

freeze = subprocess.run([sys.executable, "-m", "pip", "freeze"], check=True, capture_output=True, text=True).stdout.split("\n")
lines = []
for line in freeze:
    if not line.strip():
        continue
    name = cn(line.split("==")[0])
    if name in why:
        line += f"  # not-in-image: {why[name]}"
    if name in VENV_UNPINNED:
        line += f"  # venv-unpinned: {VENV_UNPINNED[name]}"
    lines.append(line)
pyver = "%d.%d.%d" % sys.version_info[:3]
pipver = md.version("pip")
header = f"""# Prowler {version}'s whole dependency tree, pinned: `pip freeze` of a fresh
# virtualenv (Python {pyver}, pip {pipver}) with just prowler=={version}
# installed, generated {datetime.date.today()} by `scripts/image.sh constraints`:
#   python3.11 -m venv /tmp/v && /tmp/v/bin/pip install prowler=={version}
#   /tmp/v/bin/pip freeze
# The one list both installs use, so they cannot drift: `make venv`
# (pip install -c prowler-task/constraints.txt -r requirements.txt) and
# prowler-task/Dockerfile. The image installs, with --no-deps, every line but
# those marked "not-in-image" ({len(why)} of {len(lines)}): other providers' SDKs
# and the dashboard, which an AWS scan does not import (docs/image.md).
# `make venv` leaves the lines marked "venv-unpinned" to pip (the reason is
# on the line); prowler-task/venv_test.go checks every other pin holds.
# Regenerate after a Prowler upgrade; do not edit by hand.
"""
open(out, "w").write(header + "\n".join(lines) + "\n")
print(f"constraints: {len(lines)} packages, {len(why)} not in the image", file=sys.stderr)
PY
  log "wrote $constraints"
}

if [ "${1:-}" = constraints ]; then
  constraints
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: scripts/image.sh [constraints]" >&2; exit 2; }

# --- the engine --------------------------------------------------------------
host_arch=$(uname -m)
case "$host_arch" in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; esac
engine=${IMAGE_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
    engine=docker
  else
    engine=podman
  fi
fi
engine_args=()
case "$engine" in
  docker) export DOCKER_BUILDKIT=1 ;;
  podman)
    if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
      log "installing podman and runc"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc) >/dev/null
    fi
    # crun fails on this kind of host's cgroups (and so do the default
    # ulimits): runc, and no default ulimits. An existing setting is kept.
    conf=/etc/containers/containers.conf
    if ! grep -qs '^\s*default_ulimits' "$conf"; then
      log "setting default_ulimits = [] in $conf"
      mkdir -p "$(dirname "$conf")"
      if grep -qs '^\[containers\]' "$conf"; then
        sed -i 's/^\[containers\]$/[containers]\ndefault_ulimits = []/' "$conf"
      else
        printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
      fi
    fi
    # podman 4.3 does not set BUILDPLATFORM itself (FROM --platform=$BUILDPLATFORM
    # would then ask for the target's golang image).
    engine_args=(--runtime runc --pull=never --build-arg "BUILDPLATFORM=linux/$host_arch")
    ;;
  *) log "IMAGE_ENGINE=$engine: docker or podman"; exit 2 ;;
esac

platform=${IMAGE_PLATFORM:-linux/$host_arch}
arch=${platform#linux/}
name=${IMAGE_NAME:-citadel-prowler}
tags=("$name:$prowler_version" "$name:latest")
[ "$arch" = "$host_arch" ] || tags=("$name:$prowler_version-$arch" "$name:latest-$arch")

start=$SECONDS
read -r python_image go_image < <(scripts/base-images.sh "$engine" "$platform" | tail -1)
[ -n "$go_image" ] || { log "base images: none"; exit 1; }
base_seconds=$((SECONDS - start))

build=(build -f "$dockerfile" --platform "$platform" --network host
  --build-arg "PYTHON_IMAGE=$python_image" --build-arg "GO_IMAGE=$go_image")
ca=${IMAGE_CA_FILE-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
if [ -n "$ca" ]; then
  [ -r "$ca" ] || { log "IMAGE_CA_FILE $ca cannot be read"; exit 1; }
  build+=(--secret "id=ca,src=$ca")
fi
[ -z "${PIP_INDEX_URL:-}" ] || build+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
[ -z "${GOPROXY:-}" ] || build+=(--build-arg "GOPROXY=$GOPROXY")
[ -z "${PROWLER_SLIM:-}" ] || build+=(--build-arg "PROWLER_SLIM=$PROWLER_SLIM")
for t in "${tags[@]}"; do build+=(-t "$t"); done

log "$engine build $platform -> ${tags[*]}"
build_start=$SECONDS
"$engine" "${build[@]}" "${engine_args[@]}" .
build_seconds=$((SECONDS - build_start))

size=$("$engine" image inspect --format '{{.Size}}' "${tags[0]}")
log "built ${tags[*]} ($platform): $((size / 1000000)) MB; build ${build_seconds}s, base images ${base_seconds}s"
