#!/usr/bin/env bash
# Build a local stand-in for python:3.11-slim-bookworm and import it into podman.
#
# No container registry is reachable here, so the base image is made from a
# debootstrap'd Debian bookworm root (python3 = 3.11) and `podman import`ed as
#   localhost/python311-bookworm:local
# Use it with:  podman build --build-arg BASE_IMAGE=localhost/python311-bookworm:local ...
#
# Idempotent: does nothing if the image already exists (set FORCE=1 to rebuild).
# Needs root, debootstrap and podman (apt-get install podman debootstrap).
#
# Environment knobs:
#   IMAGE       image name            (default localhost/python311-bookworm:local)
#   MIRROR      Debian mirror URL     (default: first deb.debian.org-style URI from
#                                      apt's sources, else http://deb.debian.org/debian)
#   SUITE       Debian suite          (default bookworm)
#   WORKDIR     scratch dir for rootfs (default: mktemp -d under /var/tmp, removed after)
#   FORCE=1     rebuild even if the image exists
#   PODMAN      podman command, e.g. "podman --storage-driver vfs" (default podman)
set -euo pipefail

IMAGE="${IMAGE:-localhost/python311-bookworm:local}"
SUITE="${SUITE:-bookworm}"
FORCE="${FORCE:-0}"
read -r -a PODMAN_CMD <<<"${PODMAN:-podman}"

log() { printf '[make-base-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v "${PODMAN_CMD[0]}" >/dev/null || die "podman not found (apt-get install podman)"

if [[ "$FORCE" != 1 ]] && "${PODMAN_CMD[@]}" image exists "$IMAGE"; then
    log "image $IMAGE already exists; nothing to do (FORCE=1 to rebuild)"
    "${PODMAN_CMD[@]}" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$IMAGE"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap + chroot)"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"

# --- pick a mirror: the one apt on this host already uses ----------------------
detect_mirror() {
    local f uri
    # deb822 sources (Debian 12 default)
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        uri=$(awk '/^URIs:/ {for (i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}' "$f")
        [[ -n "$uri" ]] && { echo "$uri"; return; }
    done
    # one-line sources
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        uri=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) {print $i; exit}}' "$f" | grep -i debian | head -n1 || true)
        [[ -n "$uri" ]] && { echo "$uri"; return; }
    done
    echo "http://deb.debian.org/debian"
}
MIRROR="${MIRROR:-$(detect_mirror)}"
MIRROR="${MIRROR%/}"
# security mirror: same host layout as deb.debian.org (…/debian -> …/debian-security)
SECURITY_MIRROR="${SECURITY_MIRROR:-${MIRROR}-security}"
log "mirror: $MIRROR  (security: $SECURITY_MIRROR)"

# --- scratch dir ---------------------------------------------------------------
if [[ -n "${WORKDIR:-}" ]]; then
    mkdir -p "$WORKDIR"; KEEP_WORKDIR=1
else
    WORKDIR=$(mktemp -d /var/tmp/python311-bookworm.XXXXXX); KEEP_WORKDIR=0
fi
ROOT="$WORKDIR/rootfs"
MOUNTED=()
cleanup() {
    local m
    for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null || true; done
    if [[ "$KEEP_WORKDIR" == 0 ]]; then rm -rf --one-file-system "$WORKDIR"; fi
}
trap cleanup EXIT

rm -rf --one-file-system "$ROOT"
mkdir -p "$ROOT"

# --- debootstrap ---------------------------------------------------------------
PKGS=python3,python3-venv,python3-pip,ca-certificates,git
log "debootstrap --variant=minbase $SUITE (+ $PKGS)"
t0=$SECONDS
debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOT" "$MIRROR" \
    >"$WORKDIR/debootstrap.log" 2>&1 || { tail -n 40 "$WORKDIR/debootstrap.log" >&2; die "debootstrap failed (log: $WORKDIR/debootstrap.log)"; }
log "debootstrap done in $((SECONDS - t0))s"

# --- apt sources (incl. updates + security) and upgrade ------------------------
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Same apt hygiene as the official debian images: never keep .debs around.
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::Languages "none";\n' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"

for m in proc sys dev; do
    mount --bind "/$m" "$ROOT/$m"; MOUNTED=("$ROOT/$m" "${MOUNTED[@]}")
done
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
log "apt-get upgrade (updates + security)"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -q && apt-get -y -q --no-install-recommends dist-upgrade && apt-get clean' \
    >"$WORKDIR/upgrade.log" 2>&1 || { tail -n 40 "$WORKDIR/upgrade.log" >&2; die "apt upgrade in chroot failed"; }

# --- trust the host's locally added CAs --------------------------------------------
# HTTPS egress on this kind of machine goes through a TLS-intercepting proxy whose CA
# is installed on the host under /usr/local/share/ca-certificates. Without it, `pip
# install` in a RUN step fails with CERTIFICATE_VERIFY_FAILED. Copy those (public) CA
# certs into the image's trust store; set HOST_CA_CERTS=0 to skip (then pass
# `-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro`
# to `podman build` instead).
if [[ "${HOST_CA_CERTS:-1}" == 1 ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    log "adding host CA certs: $(cd /usr/local/share/ca-certificates && echo *.crt)"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >"$WORKDIR/ca.log" 2>&1 \
        || { cat "$WORKDIR/ca.log" >&2; die "update-ca-certificates failed"; }
fi

for m in "${MOUNTED[@]}"; do umount "$m"; done
MOUNTED=()

# --- make it look like python:3.11-slim ------------------------------------------
# python:3.11-slim has python/python3/python3.11/pip/pip3 in /usr/local/bin; Debian has
# them in /usr/bin (and no `python`). Mirror the official paths as symlinks, so both
# `python` and hard-coded /usr/local/bin/python* paths work.
ln -sfn /usr/bin/python3 "$ROOT/usr/local/bin/python"
ln -sfn /usr/bin/python3 "$ROOT/usr/local/bin/python3"
ln -sfn /usr/bin/python3.11 "$ROOT/usr/local/bin/python3.11"
ln -sfn /usr/bin/pip3 "$ROOT/usr/local/bin/pip"
ln -sfn /usr/bin/pip3 "$ROOT/usr/local/bin/pip3"
# python:3.11-slim has no PEP 668 marker, so `pip install` into the system
# interpreter works there; make it work here too.
rm -f "$ROOT"/usr/lib/python3*/EXTERNALLY-MANAGED

# --- shrink ----------------------------------------------------------------------
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/cache/debconf/*-old \
       "$ROOT"/var/log/* "$ROOT"/tmp/* "$ROOT"/var/tmp/* \
       "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian \
       "$ROOT"/usr/share/locale/*
mkdir -p "$ROOT/var/lib/apt/lists/partial" "$ROOT/var/cache/apt/archives/partial"
# keep copyright files, drop the rest of /usr/share/doc
find "$ROOT/usr/share/doc" -depth -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/doc" -depth -mindepth 1 -type d -empty -delete 2>/dev/null || true
find "$ROOT" -xdev -name __pycache__ -type d -prune -exec rm -rf {} + 
# host-specific files written by debootstrap / the upgrade step
: >"$ROOT/etc/resolv.conf"
echo localhost >"$ROOT/etc/hostname"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"

chroot "$ROOT" /usr/local/bin/python -c 'import sys, venv, ensurepip, ssl; assert sys.version_info[:2] == (3, 11), sys.version; print("python", sys.version.split()[0])' >&2
chroot "$ROOT" git --version >&2

# --- import ----------------------------------------------------------------------
log "importing into podman as $IMAGE"
"${PODMAN_CMD[@]}" image rm -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$ROOT" --numeric-owner --xattrs --acls \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
  "${PODMAN_CMD[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "debootstrap $SUITE minbase + python3/venv/pip/git ($MIRROR)" \
    - "$IMAGE" >/dev/null

"${PODMAN_CMD[@]}" image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' "$IMAGE"
log "done in $((SECONDS))s total"
