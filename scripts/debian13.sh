#!/usr/bin/env bash
# Runs a command on Debian 13 (trixie, libtorch 2.6) from this Debian 12
# machine: a minimal trixie root made with debootstrap, kept between runs
# outside the checkout and remade when missing or stale, a copy of the
# checkout inside it, the command run there as root. The project's own
# setup (scripts/setup.mjs) installs its Debian packages inside, as it does
# on a user's Debian 13.
#
#   bash scripts/debian13.sh [COMMAND...]     (default: npm test)
#
#   SKIPSTUDIO_DEBIAN13_ROOT  where the root lives (default /var/cache/skipstudio/debian13)
#   SKIPSTUDIO_DEBIAN13_COPY  also copy this file into the root's /root/carried/ (a tarball to install there)
#   SKIPSTUDIO_DEBIAN13_OUT   a folder here that gets what the command wrote to /root/out there
#
# Needs root (debootstrap, mount, chroot) and Debian's package mirror.
set -euo pipefail

checkout="$(cd "$(dirname "$0")/.." && pwd)"
root="${SKIPSTUDIO_DEBIAN13_ROOT:-/var/cache/skipstudio/debian13}"
# What the root is made of; a root made from another recipe, or older than
# MAX_AGE_DAYS (security updates), is made again.
RECIPE='trixie minbase ca-certificates; nodejs npm g++ make python3 (recipe 1)'
MAX_AGE_DAYS=14
TOOLS=(nodejs npm g++ make python3)
work=/root/skipstudio

say() { echo "[debian13] $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "needs root (debootstrap, mount, chroot): run it with sudo"
  exit 1
fi

root_is_current() {
  local stamp="$root/.skipstudio-root"
  [[ -f $stamp && "$(cat "$stamp")" == "$RECIPE" ]] || return 1
  [[ -z $(find "$stamp" -mtime +"$MAX_AGE_DAYS") ]]
}

make_root() {
  command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  unmount_root
  rm -rf "$root.new"
  say "making a Debian 13 root in $root (debootstrap, about a minute)"
  debootstrap --variant=minbase --include=ca-certificates trixie "$root.new" http://deb.debian.org/debian >"$root.new.log" 2>&1 ||
    { tail -n 20 "$root.new.log" >&2; say "debootstrap failed (log: $root.new.log)"; exit 1; }
  rm -rf "$root" "$root.new.log"
  mv "$root.new" "$root"
}

mounted() { grep -q " $1 " /proc/mounts; }

mount_root() {
  mounted "$root/proc" || mount --bind /proc "$root/proc"
  mounted "$root/sys" || mount --bind /sys "$root/sys"
  if ! mounted "$root/dev"; then
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
  fi
}

unmount_root() {
  for dir in dev sys proc; do
    if mounted "$root/$dir"; then umount -R "$root/$dir" || umount -R -l "$root/$dir"; fi
  done
}

# The machine's CA certificates and npm settings, so apt and npm inside reach
# the same mirrors as outside.
trust_like_host() {
  if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    cp /usr/local/share/ca-certificates/* "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  if [[ -f $HOME/.npmrc ]]; then cp "$HOME/.npmrc" "$root/root/.npmrc"; fi
}

install_tools() {
  local missing=()
  for pkg in "${TOOLS[@]}"; do
    chroot "$root" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  say "installing ${missing[*]}"
  chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}" >/dev/null
}

# The checkout's files (tracked, and untracked but not ignored) replace the
# copy's; its node_modules and build stay, as each carries a stamp that
# scripts/setup.mjs checks, and dist is compiled again (a removed test must
# not linger there).
copy_checkout() {
  local dest="$root$work"
  mkdir -p "$dest"
  find "$dest" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name build -exec rm -rf {} +
  git -C "$checkout" ls-files -z --cached --others --exclude-standard |
    (cd "$checkout" && tar --null --files-from=- --ignore-failed-read -cf -) | tar -xf - -C "$dest"
  rm -rf "$root/root/carried" "$root/root/out"
  mkdir -p "$root/root/carried" "$root/root/out"
  if [[ -n ${SKIPSTUDIO_DEBIAN13_COPY:-} ]]; then cp "$SKIPSTUDIO_DEBIAN13_COPY" "$root/root/carried/"; fi
}

if ! root_is_current; then
  make_root
  echo "$RECIPE" >"$root/.skipstudio-root"
fi
trap unmount_root EXIT
mount_root
trust_like_host
install_tools
copy_checkout

command=("$@")
[[ ${#command[@]} -eq 0 ]] && command=(npm test)
say "running in Debian 13: ${command[*]}"
# A clean environment: the host's PATH names tools that are not inside.
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${SKIPSTUDIO_THREADS:+SKIPSTUDIO_THREADS=$SKIPSTUDIO_THREADS} \
  sh -c 'cd "$0" && exec "$@"' "$work" "${command[@]}"
if [[ -n ${SKIPSTUDIO_DEBIAN13_OUT:-} ]]; then cp -a "$root/root/out/." "$SKIPSTUDIO_DEBIAN13_OUT/"; fi
