#!/usr/bin/env bash
# make container-check: build the real Dockerfile and prove the image works, with podman.
#
# No Docker engine or registry is reachable here, and `podman run` fails (cgroups v1), so:
#   1. tools      apt-get installs podman, buildah and debootstrap if they are missing
#   2. lint       make container-lint (compose schema, hadolint)
#   3. base       container/make-base-image.sh: a local Debian bookworm + Python 3.11 base,
#                 passed to the build as BASE_IMAGE (stands in for python:3.11-slim-bookworm)
#   4. build      podman build --isolation=chroot of ./Dockerfile (layer cache kept)
#   5. facts      the image's user, CPU-only TensorFlow, environment, build context, git
#   6. tests      the test suite inside the image (buildah run: the image's user, env and
#                 workdir), SST-2 mounted read-only at /data/sst2
#   7. repro      what `docker compose run pipeline` does: a copy of this checkout mounted
#                 at /work, a cache directory at /cache (the named volume), SST-2 read-only;
#                 tiny params, then the service's command from docker-compose.yml
#   8. rerun      the image's own CMD: nothing but the always-run `source` stage may run
#   9. report     the `report` service's command from docker-compose.yml, serving the
#                 workspace's reports/ read-only; report.html fetched over HTTP and compared
# Any failing step fails the check. At the end: the time of each step (and of each
# Dockerfile step of the build), the image size and its largest layers.
#
# Knobs: SST2_DIR (default ../shared/data/sst2), IMAGE (localhost/prunelab:cpu),
# BASE_IMAGE (the local base; any other value is used as is, e.g. python:3.11-slim-bookworm
# where a registry is reachable), NO_CACHE=1 (build without podman's layer cache).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

LOCAL_BASE=localhost/python311-bookworm:local
BASE_IMAGE=${BASE_IMAGE:-$LOCAL_BASE}
IMAGE=${IMAGE:-localhost/prunelab:cpu}
SST2_DIR=$(realpath "${SST2_DIR:-$REPO/../shared/data/sst2}")
NO_CACHE=${NO_CACHE:-0}
MAKE=${MAKE:-make}
TOOLS_PY=${CONTAINER_TOOLS:-$REPO/.venv/container-tools}/bin/python  # made by `make container-lint`
APP_UID=1000  # the Dockerfile's USER

log() { printf '[container-check] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { printf '%s' "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[[ $(id -u) == 0 ]] || die "run as root (podman storage, debootstrap, chroot)"
[[ -f $SST2_DIR/train.tsv && -f $SST2_DIR/dev.tsv ]] || die "no SST-2 at $SST2_DIR: set SST2_DIR"

WORK=$(mktemp -d /var/tmp/container-check.XXXXXX)
CONTAINERS=()
STEP_NAMES=() STEP_SECS=() STEP_RESULTS=()
CURRENT="" STEP_T0="" T_START=$(now)

summary() {
    local i
    printf '\n==== container-check summary\n'
    printf '  %-58s %8s  %s\n' step seconds result
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-58s %8s  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECS[$i]}" "${STEP_RESULTS[$i]}"
    done
    printf '  %-58s %8s\n' total "$(secs "$T_START" "$(now)")"
    if [[ -s $WORK/build-steps.txt ]]; then
        printf '\n  Dockerfile steps (podman build, seconds; "cached": layer cache hit; the last one includes writing the image):\n'
        sed 's/^/    /' "$WORK/build-steps.txt"
    fi
    if podman image exists "$IMAGE" 2>/dev/null; then
        printf '\n  image %s: %s (%s bytes; podman image inspect .Size)\n' "$IMAGE" \
            "$(podman image ls --format '{{.Size}}' "$IMAGE" | head -n1)" \
            "$(podman image inspect --format '{{.Size}}' "$IMAGE")"
        printf '  largest layers:\n'
        podman history --no-trunc --format '{{.Size}}|{{.CreatedBy}}' "$IMAGE" | awk -F'|' '
            { split($1, a, " "); f = (a[2] == "GB") ? 1e9 : (a[2] == "MB") ? 1e6 : (a[2] == "kB") ? 1e3 : 1
              c = $2; sub(/^\/bin\/sh -c (#\(nop\) *)?/, "", c); printf "%12.0f %s\n", a[1] * f, substr(c, 1, 80) }' |
            sort -n -r | head -n 5 | awk '{ b = $1; $1 = ""; printf "    %8.1f MB %s\n", b / 1e6, $0 }'
    fi
}

cleanup() {
    local rc=$? c
    if [[ -n $CURRENT ]]; then
        STEP_NAMES+=("$CURRENT") STEP_SECS+=("$(secs "$STEP_T0" "$(now)")") STEP_RESULTS+=(FAILED)
    fi
    for c in "${CONTAINERS[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
    if command -v podman >/dev/null; then podman image prune -f >/dev/null 2>&1 || true; fi
    summary || true
    rm -rf --one-file-system "$WORK"
    if [[ $rc == 0 ]]; then
        printf '\ncontainer-check: PASSED\n'
    else
        printf '\ncontainer-check: FAILED at step "%s" (exit %s)\n' "${CURRENT:-?}" "$rc"
    fi
    exit "$rc"
}
trap cleanup EXIT

step() {  # step NAME COMMAND...: run, time, record; a failure exits through cleanup
    CURRENT=$1; shift
    printf '\n==== [container-check] %s\n' "$CURRENT"
    STEP_T0=$(now)
    "$@"
    STEP_NAMES+=("$CURRENT") STEP_SECS+=("$(secs "$STEP_T0" "$(now)")") STEP_RESULTS+=(ok)
    CURRENT=""
}

NEWC=""
new_container() {  # sets NEWC: a working container of the image (removed at exit)
    NEWC=$(buildah from --pull=never --quiet "$IMAGE")
    CONTAINERS+=("$NEWC")
}

# in_image [buildah run options] CONTAINER -- COMMAND...: runs as the image's USER, with its
# ENV and WORKDIR (not its CMD); chroot isolation, as `podman run` cannot work here.
in_image() { buildah run --isolation chroot "$@"; }

# --- 1. tools ---------------------------------------------------------------------
tools() {
    local missing=() t
    for t in podman buildah debootstrap; do command -v "$t" >/dev/null || missing+=("$t"); done
    if ((${#missing[@]})); then
        log "installing podman, buildah, debootstrap (missing: ${missing[*]})"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            podman buildah debootstrap fuse-overlayfs uidmap slirp4netns
    fi
    podman --version && buildah --version
    df -h /var/lib/containers 2>/dev/null | tail -n1 || df -h / | tail -n1
}

# --- 2. lint ----------------------------------------------------------------------
lint() { "$MAKE" --no-print-directory container-lint; }

# --- 3. base image ----------------------------------------------------------------
base() {
    if [[ $BASE_IMAGE == "$LOCAL_BASE" ]]; then
        IMAGE="$LOCAL_BASE" bash container/make-base-image.sh
    else
        log "using BASE_IMAGE=$BASE_IMAGE as given"
    fi
}

# --- 4. build ---------------------------------------------------------------------
build() {
    local args=(--isolation=chroot --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile)
    [[ $NO_CACHE == 1 ]] && args+=(--no-cache)
    # Each output line gets the seconds since the build started, to time the Dockerfile steps.
    local t0=$EPOCHSECONDS line
    podman build "${args[@]}" . 2>&1 | while IFS= read -r line; do
        printf '%5ds %s\n' $((EPOCHSECONDS - t0)) "$line"
    done | tee "$WORK/build.log"
    # STEP n/m lines start a step; the next STEP (or the end) closes it.
    awk '
        { t = $1 + 0 }
        / STEP [0-9]+\/[0-9]+: / {
            if (name != "") printf "%6d  %-7s %s\n", t - start, (cached ? "cached" : ""), name
            name = substr($0, index($0, "STEP ")); name = substr(name, 1, 88); start = t; cached = 0
        }
        /--> Using cache/ { cached = 1 }
        END { if (name != "") printf "%6d  %-7s %s\n", t - start, (cached ? "cached" : ""), name }
    ' "$WORK/build.log" >"$WORK/build-steps.txt"
    podman image ls "$IMAGE"
}

# --- 5. facts ---------------------------------------------------------------------
facts() {
    local user cmd c
    user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
    cmd=$(podman image inspect --format '{{json .Config.Cmd}}' "$IMAGE")
    log "USER $user, WORKDIR $(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE"), CMD $cmd"
    [[ $user == "$APP_UID:$APP_UID" ]] || die "image USER is '$user', expected $APP_UID:$APP_UID"
    new_container; c=$NEWC
    # shellcheck disable=SC2016  # expanded by the shell in the image
    in_image --env "APP_UID=$APP_UID" "$c" -- sh -euc '
        echo "id: $(id)"; [ "$(id -u)" = "$APP_UID" ]
        python -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version; print(\"python\", sys.version.split()[0])"
        for v in TF_CPP_MIN_LOG_LEVEL TF_USE_LEGACY_KERAS DVC_NO_ANALYTICS HF_HUB_OFFLINE HF_DATASETS_OFFLINE MPLCONFIGDIR HF_HOME; do
            eval "val=\${$v:-}"; [ -n "$val" ] || { echo "unset: $v"; exit 1; }; echo "$v=$val"
        done
        python - <<EOF
import importlib.metadata as md
names = {d.metadata["Name"].lower().replace("_", "-") for d in md.distributions()}
gpu = sorted(n for n in names if n == "tensorflow" or n.startswith("nvidia-"))
assert not gpu, f"not CPU-only: {gpu}"
import prunelab, tensorflow as tf
assert tf.config.list_physical_devices("GPU") == [], tf.config.list_physical_devices()
print("tensorflow-cpu", md.version("tensorflow-cpu"), "devices:", [d.device_type for d in tf.config.list_physical_devices()])
print("prunelab from", prunelab.__file__)
assert prunelab.__file__.startswith("/work/src/"), "prunelab is not the editable install of /work/src"
EOF
        for p in data models metrics reports .venv .dvc/cache .dvc/tmp .pytest_cache; do
            [ ! -e "/work/$p" ] || { echo "in the build context, should not be: /work/$p"; exit 1; }
        done
        echo "build context: no data, models, outputs, caches or venvs in /work"
        [ "$(dvc cache dir)" = /cache/dvc ] || { echo "dvc cache dir: $(dvc cache dir)"; exit 1; }
        echo "dvc $(dvc --version), cache dir $(dvc cache dir)"
        git log --oneline -1
        dvc status >/dev/null && echo "dvc status works on the copied source (a git repository)"
        touch /cache/probe && rm /cache/probe && echo "/cache writable by $(id -u)"
    '
}

# --- 6. tests ---------------------------------------------------------------------
tests() {
    local c
    new_container; c=$NEWC
    in_image --volume "$SST2_DIR:/data/sst2:ro" --env SST2_DIR=/data/sst2 --workingdir /work "$c" -- \
        python -m pytest -p no:cacheprovider
}

# --- 7./8. the compose `pipeline` service, emulated ---------------------------------
WS="" CACHE="" REPRO_C=""
prepare_workspace() {
    # The mounted workspace: a clone of this checkout with its working-tree files on top
    # (tracked and untracked, not ignored), owned by the image user as on a Linux laptop.
    WS=$WORK/workspace CACHE=$WORK/dvc-cache-volume
    git clone --quiet --no-hardlinks "$REPO" "$WS"
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        tar -C "$REPO" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$WS" -xf -
    rm -f "$WS/dvc.lock"
    # A new named volume starts as a copy of the image's /cache: owned by the user, mode 1777.
    install -d -o "$APP_UID" -g "$APP_UID" -m 1777 "$CACHE"
    chown -R "$APP_UID:$APP_UID" "$WS"
    new_container; REPRO_C=$NEWC
}

pipeline() {  # pipeline LOG COMMAND...: the compose service's mounts and environment
    local logfile=$1; shift
    in_image --volume "$WS:/work" --volume "$CACHE:/cache" --volume "$SST2_DIR:/data/sst2:ro" \
        --env SST2_DIR=/data/sst2 --workingdir /work "$REPRO_C" -- "$@" 2>&1 | tee "$logfile"
}

image_cmd() { podman image inspect --format '{{range .Config.Cmd}}{{.}}{{"\n"}}{{end}}' "$IMAGE"; }

compose_cmd() {  # compose_cmd SERVICE: its command in docker-compose.yml, one argument a line
    "$TOOLS_PY" - "$1" <<'EOF'
import sys
from ruamel.yaml import YAML

service = YAML(typ="safe").load(open("docker-compose.yml"))["services"][sys.argv[1]]
command = service["command"]
assert isinstance(command, list), f"{sys.argv[1]}: command is not a list: {command!r}"
print("\n".join(command))
EOF
}

stages_run() { { grep -oE "Running stage '[^']+'" "$1" || true; } | sed -E "s/Running stage '(.*)'/\1/" | sort -u | tr '\n' ' '; }

repro() {
    local cmd=()
    mapfile -t cmd < <(compose_cmd pipeline)
    ((${#cmd[@]})) || die "no command for the pipeline service"
    prepare_workspace
    pipeline "$WORK/tiny.log" python container/tiny_params.py params.yaml
    pipeline "$WORK/stages.log" dvc stage list --name-only >/dev/null
    local expected; expected=$(sort -u "$WORK/stages.log" | tr '\n' ' ')
    log "the pipeline service's command: ${cmd[*]}; stages: $expected"
    pipeline "$WORK/repro1.log" "${cmd[@]}"
    local ran; ran=$(stages_run "$WORK/repro1.log")
    [[ $ran == "$expected" ]] || die "stages run: '$ran', expected '$expected'"
    local f
    for f in dvc.lock reports/report.html reports/report.md metrics/evaluation.json models/pruned/saved_model.pb; do
        [[ -s $WS/$f ]] || die "missing output: $f"
    done
    [[ ! -e $WS/.dvc/cache ]] || die "DVC cached into the workspace, not into /cache"
    local n; n=$(find "$CACHE/dvc" -type f | wc -l)
    ((n > 0)) || die "nothing in the cache volume"
    local foreign; foreign=$(find "$WS" ! -uid "$APP_UID" | head -n 3)
    [[ -z $foreign ]] || die "files not owned by $APP_UID in the workspace: $foreign"
    log "every stage ran; outputs in the workspace, owned by $APP_UID; $n files in the cache volume ($(du -sh "$CACHE" | cut -f1))"
}

rerun() {
    local cmd=()
    mapfile -t cmd < <(image_cmd)
    log "the image's CMD: ${cmd[*]}"
    pipeline "$WORK/repro2.log" "${cmd[@]}"
    local ran; ran=$(stages_run "$WORK/repro2.log")
    [[ $ran == "" || $ran == "source " ]] || die "second run reran: $ran"
    log "second run: only '${ran% }' ran (always_changed); everything else up to date"
}

report() {
    # buildah run shares the host's network: the port becomes a free one, the bind address
    # loopback (in compose, the container has its own network and 8000 is published).
    local cmd=() port i pid rc=0
    mapfile -t cmd < <(compose_cmd report)
    port=$("$TOOLS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    for i in "${!cmd[@]}"; do
        [[ ${cmd[$i]} == 8000 ]] && cmd[i]=$port
        [[ ${cmd[$i]} == 0.0.0.0 ]] && cmd[i]=127.0.0.1
    done
    log "the report service's command: ${cmd[*]} (stops itself after 20 s)"
    new_container
    in_image --volume "$WS/reports:/work/reports:ro" "$NEWC" -- timeout 20 "${cmd[@]}" &
    pid=$!
    "$TOOLS_PY" - "$port" "$WORK/served.html" <<'EOF' || rc=$?
import sys, time, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/report.html"
for _ in range(60):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            open(sys.argv[2], "wb").write(response.read())
        print(f"GET {url}: {response.status}")
        break
    except OSError:
        time.sleep(0.25)
else:
    sys.exit(f"nothing served at {url}")
EOF
    wait "$pid" || true  # timeout's 124
    ((rc == 0)) || die "the report service served nothing"
    cmp "$WORK/served.html" "$WS/reports/report.html" || die "served report.html differs from the workspace's"
    log "report.html served ($(wc -c <"$WORK/served.html") bytes), identical to the workspace's"
}

step "tools (podman, buildah, debootstrap)" tools
step "lint (compose schema, hadolint)" lint
step "base image ($BASE_IMAGE)" base
step "build ($IMAGE$([[ $NO_CACHE == 1 ]] && echo ', no layer cache'))" build
step "image facts (user, CPU-only, env, context)" facts
step "test suite in the image (pytest)" tests
step "pipeline service: tiny-params dvc repro" repro
step "pipeline service: image CMD again (nothing to rerun)" rerun
step "report service: serves report.html" report
