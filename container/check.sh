#!/usr/bin/env bash
# make container-check: build the real Dockerfile and prove the image and docker-compose.yml
# work, with podman (no Docker engine and no registry here).
#
#   1. tools      apt-get installs podman, runc and debootstrap if missing
#   2. lint       make container-lint (compose schema, hadolint); its venv has podman-compose
#   3. base       container/make-base-image.sh: a local Debian bookworm + Python 3.11 base,
#                 passed to the build as BASE_IMAGE (stands in for python:3.11-slim-bookworm)
#   4. build      podman build --isolation=chroot of ./Dockerfile (layer cache kept)
#   5. runtime    `podman run` as these machines allow it (runc, ulimits within the hard
#                 limits: see runtime()), then the image's facts: user, CPU-only TensorFlow,
#                 environment, what the build context left out
#   6. tests      `compose run test`: the test suite in the image, on a copy of this
#                 checkout mounted at /work (owned by UID 1000, as on a laptop), SST-2
#                 read-only, under the service's CPU and memory limits
#   7. repro      `compose run pipeline` with tiny params: every stage of dvc.yaml must run,
#                 outputs land in the workspace, DVC's cache in the named volume
#   8. rerun      the image's own CMD (`podman run IMAGE`) on the same workspace and volume:
#                 nothing but the always-run `source` stage may run
#   9. report     `compose up report`: report.html fetched from the published port on
#                 127.0.0.1 and compared with the workspace's
# compose = podman-compose (pinned in requirements-container.txt) on the real
# docker-compose.yml, project name prunelab-check; its containers, pod, network and
# volume are removed at the end. Any failing step fails the check. At the end: each step's
# time, each Dockerfile step's time, the image size and its largest layers.
#
# Knobs: SST2_DIR (default ../shared/data/sst2), BASE_IMAGE (the local base; any other
# value is used as is, e.g. python:3.11-slim-bookworm where a registry is reachable),
# NO_CACHE=1 (build without podman's layer cache), CONTAINER_CHECK_TESTS=0 (leave out step 6,
# the test suite in the image: CI does, as it runs the suite on the host already), FULL=1
# (steps 6 and 7 replaced by the default params' full `dvc repro`, about half an hour on 2 cores,
# with each stage's peak memory in the container read from its memory cgroup by
# container/stage_memory.py; the table is printed and kept in FULL_OUT, default
# container/full-run.json in this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

LOCAL_BASE=localhost/python311-bookworm:local
BASE_IMAGE=${BASE_IMAGE:-$LOCAL_BASE}
IMAGE=localhost/prunelab:cpu  # docker-compose.yml's image: prunelab:cpu
PROJECT=prunelab-check
SST2_DIR=$(realpath "${SST2_DIR:-$REPO/../shared/data/sst2}")
NO_CACHE=${NO_CACHE:-0}
RUN_TESTS=${CONTAINER_CHECK_TESTS:-1}
FULL=${FULL:-0}
FULL_OUT=$(realpath -m "${FULL_OUT:-$REPO/container/full-run.json}")
MAKE=${MAKE:-make}
TOOLS=${CONTAINER_TOOLS:-$REPO/.venv/container-tools}/bin  # made by `make container-lint`
APP_UID=1000  # the Dockerfile's USER

log() { printf '[container-check] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { printf '%s' "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[[ $(id -u) == 0 ]] || die "run as root (podman storage, debootstrap, chroot)"
[[ -f $SST2_DIR/train.tsv && -f $SST2_DIR/dev.tsv ]] || die "no SST-2 at $SST2_DIR: set SST2_DIR"

WORK=$(mktemp -d /var/tmp/container-check.XXXXXX)
WS=""
STEP_NAMES=() STEP_SECS=() STEP_RESULTS=()
CURRENT="" STEP_T0="" T_START=$(now)

summary() {
    local i
    printf '\n==== container-check summary\n'
    printf '  %-72s %8s  %s\n' step seconds result
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-72s %8s  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECS[$i]}" "${STEP_RESULTS[$i]}"
    done
    printf '  %-72s %8s\n' total "$(secs "$T_START" "$(now)")"
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
    local rc=$?
    if [[ -n $CURRENT ]]; then
        STEP_NAMES+=("$CURRENT") STEP_SECS+=("$(secs "$STEP_T0" "$(now)")") STEP_RESULTS+=(FAILED)
    fi
    if [[ -n $WS && -f $WS/docker-compose.yml ]]; then compose down -v >/dev/null 2>&1 || true; fi
    if command -v podman >/dev/null; then
        podman volume rm -f "${PROJECT}_dvc-cache" >/dev/null 2>&1 || true
        podman image prune -f >/dev/null 2>&1 || true
    fi
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

# compose ARGS...: podman-compose on the scratch workspace's docker-compose.yml
compose() {
    (cd "$WS" && SST2_DIR="$SST2_DIR" "$TOOLS/podman-compose" -p "$PROJECT" "$@")
}

# --- 1. tools ---------------------------------------------------------------------
tools() {
    local missing=() t
    for t in podman runc debootstrap; do command -v "$t" >/dev/null || missing+=("$t"); done
    if ((${#missing[@]})); then
        log "installing podman, runc, debootstrap (missing: ${missing[*]})"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            podman runc debootstrap fuse-overlayfs uidmap slirp4netns
    fi
    podman --version && runc --version | head -n1
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

# --- 5. runtime and image facts ---------------------------------------------------------
runtime() {
    # Plain `podman run` fails on these machines: crun rejects the hybrid cgroup v1/v2
    # layout, and podman's default ulimits exceed the hard limits, which cannot be raised
    # without CAP_SYS_RESOURCE. runc, and ulimits within the hard limits, work (CPU and
    # memory limits included). For this script only, through CONTAINERS_CONF.
    local nofile; nofile=$(ulimit -Hn); [[ $nofile == unlimited ]] && nofile=1048576
    cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=16384:16384"]
[engine]
runtime = "runc"
EOF
    export CONTAINERS_CONF=$WORK/containers.conf
    local user cmd
    user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
    cmd=$(podman image inspect --format '{{json .Config.Cmd}}' "$IMAGE")
    log "USER $user, WORKDIR $(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE"), CMD $cmd"
    [[ $user == "$APP_UID:$APP_UID" ]] || die "image USER is '$user', expected $APP_UID:$APP_UID"
    # shellcheck disable=SC2016  # expanded by the shell in the image
    podman run --rm --env "APP_UID=$APP_UID" "$IMAGE" sh -euc '
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
prepare_workspace() {
    # The mounted workspace: a clone of this checkout with its working-tree files on top
    # (tracked and untracked, not ignored), owned by the image's user as on a Linux laptop.
    WS=$WORK/workspace
    git clone --quiet --no-hardlinks "$REPO" "$WS"
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        tar -C "$REPO" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$WS" -xf -
    rm -f "$WS/dvc.lock"
    chown -R "$APP_UID:$APP_UID" "$WS"
    compose down -v >/dev/null 2>&1 || true  # leftovers of an interrupted check
}

tests() {
    prepare_workspace
    if [[ $RUN_TESTS == 0 ]]; then log "CONTAINER_CHECK_TESTS=0: the test suite is left out"; return; fi
    # A service outside the active profiles is skipped with a mere warning: check pytest ran.
    compose --profile test run --rm -T test 2>&1 | tee "$WORK/tests.log"
    grep -qE '^=+ .*[0-9]+ passed' "$WORK/tests.log" || die "no pytest summary: did the test service run?"
}

# --- 7./8. pipeline ---------------------------------------------------------------
# The stage names `dvc stage list` prints; podman-compose's first call in a project also prints
# the 64-hex id of the pod it creates, which is not a stage.
stage_names() {
    compose run --rm -T --no-deps pipeline dvc stage list --name-only | awk '{ print $1 }' |
        grep -vE '^([0-9a-f]{64})?$' | sort -u | tr '\n' ' '
}

stages_run() { { grep -oE "Running stage '[^']+'" "$1" || true; } | sed -E "s/Running stage '(.*)'/\1/" | sort -u | tr '\n' ' '; }

repro() {
    compose run --rm -T --no-deps pipeline python container/tiny_params.py params.yaml
    local expected; expected=$(stage_names)
    log "stages: $expected"
    compose run --rm -T pipeline 2>&1 | tee "$WORK/repro1.log"
    local ran; ran=$(stages_run "$WORK/repro1.log")
    [[ $ran == "$expected" ]] || die "stages run: '$ran', expected '$expected'"
    local f
    for f in dvc.lock reports/report.html reports/report.md metrics/evaluation/pruned.json models/pruned/saved_model.pb; do
        [[ -s $WS/$f ]] || die "missing output: $f"
    done
    [[ ! -e $WS/.dvc/cache ]] || die "DVC cached into the workspace, not into /cache"
    local volume n; volume=$(podman volume inspect --format '{{.Mountpoint}}' "${PROJECT}_dvc-cache")
    n=$(find "$volume/dvc" -type f | wc -l)
    ((n > 0)) || die "nothing in the dvc-cache volume"
    local foreign; foreign=$(find "$WS" ! -uid "$APP_UID" | head -n 3)
    [[ -z $foreign ]] || die "files not owned by $APP_UID in the workspace: $foreign"
    log "every stage ran; outputs in the workspace, owned by $APP_UID; $n files in the volume ${PROJECT}_dvc-cache ($(du -sh "$volume" | cut -f1))"
}

full_repro() {
    # The default params as committed; the stages' memory is watched from the host.
    prepare_workspace
    local expected; expected=$(stage_names)
    compose run --rm -T --name "${PROJECT}-full" pipeline 2>&1 |
        "$TOOLS/python" container/stage_memory.py "${PROJECT}-full" "$FULL_OUT" | tee "$WORK/repro1.log"
    local ran; ran=$(stages_run "$WORK/repro1.log")
    [[ $ran == "$expected" ]] || die "stages run: '$ran', expected '$expected'"
    [[ -s $WS/reports/report.html ]] || die "missing output: reports/report.html"
    log "every stage ran at full size inside the service's limits; per-stage memory in $FULL_OUT"
}

rerun() {
    log "the image's CMD, as \`docker run\` would: $(podman image inspect --format '{{json .Config.Cmd}}' "$IMAGE")"
    podman run --rm -v "$WS:/work" -v "${PROJECT}_dvc-cache:/cache" -v "$SST2_DIR:/data/sst2:ro" \
        -e SST2_DIR=/data/sst2 "$IMAGE" 2>&1 | tee "$WORK/repro2.log"
    local ran; ran=$(stages_run "$WORK/repro2.log")
    [[ $ran == "" || $ran == "source " ]] || die "second run reran: $ran"
    log "second run: only '${ran% }' ran (always_changed); everything else up to date"
}

# --- 9. report --------------------------------------------------------------------
report() {
    local port
    port=$("$TOOLS/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    REPORT_PORT=$port compose up -d --no-deps report
    "$TOOLS/python" - "$port" "$WORK/served.html" <<'EOF' || { compose logs report || true; die "nothing served"; }
import sys, time, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/report.html"
for _ in range(120):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            open(sys.argv[2], "wb").write(response.read())
        print(f"GET {url}: {response.status}")
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit(f"nothing served at {url}")
EOF
    compose stop report >/dev/null 2>&1 || true
    cmp "$WORK/served.html" "$WS/reports/report.html" || die "served report.html differs from the workspace's"
    log "report.html served on 127.0.0.1:$port ($(wc -c <"$WORK/served.html") bytes), identical to the workspace's"
}

step "tools (podman, runc, debootstrap)" tools
step "lint (compose schema, hadolint)" lint
step "base image ($BASE_IMAGE)" base
step "build ($IMAGE$([[ $NO_CACHE == 1 ]] && echo ', no layer cache'))" build
step "podman run: image facts (user, CPU-only, env, context)" runtime
if [[ $FULL == 1 ]]; then
    step "compose run pipeline: the default params' full dvc repro, memory per stage" full_repro
else
    step "compose run test: the test suite$([[ $RUN_TESTS == 0 ]] && echo ' (LEFT OUT: CONTAINER_CHECK_TESTS=0)')" tests
    step "compose run pipeline: tiny-params dvc repro" repro
fi
step "podman run IMAGE: its CMD again, nothing to rerun" rerun
step "compose up report: report.html on 127.0.0.1" report
