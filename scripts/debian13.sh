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
# Canonical, as /proc/mounts names it: the mount checks below compare with it.
root="$(realpath -m "${SKIPSTUDIO_DEBIAN13_ROOT:-/var/cache/skipstudio/debian13}")"
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
  command -v debootstrap >/dev/null ||
    { say "installing debootstrap"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  unmount_all "$root"
  unmount_all "$root.new"  # a debootstrap killed earlier leaves its mounts there
  remove_tree "$root.new"
  say "making a Debian 13 root in $root (debootstrap, about a minute)"
  debootstrap --variant=minbase --include=ca-certificates trixie "$root.new" http://deb.debian.org/debian >"$root.new.log" 2>&1 ||
    { tail -n 20 "$root.new.log" >&2; say "debootstrap failed (log: $root.new.log)"; exit 1; }
  unmount_all "$root.new"
  remove_tree "$root"
  rm -f "$root.new.log"
  mv "$root.new" "$root"
}

# Removes a root, never what is mounted in it (the host's /dev, bound in).
remove_tree() {
  [[ -e $1 ]] || return 0
  if findmnt -rn -o TARGET | grep -q "^$1/"; then
    say "$1 still has something mounted in it (findmnt | grep $1): unmount it, then run this again"
    exit 1
  fi
  rm -rf --one-file-system "$1"
}

mount_root() {
  mountpoint -q "$root/proc" || mount --bind /proc "$root/proc"
  mountpoint -q "$root/sys" || mount --bind /sys "$root/sys"
  # Bound as a slave at once, so that unmounting it never reaches the host's /dev/pts or /dev/shm.
  mountpoint -q "$root/dev" || mount --rbind --make-rslave /dev "$root/dev"
}

# Unmounts everything mounted under a root, deepest first.
unmount_all() {
  local target
  findmnt -rn -o TARGET | { grep "^$1/" || true; } | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target"
  done
}
unmount_root() { unmount_all "$root"; }

# The machine's CA certificates and npm settings, so apt and npm inside reach
# the same mirrors as outside.
trust_like_host() {
  if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    cp /usr/local/share/ca-certificates/* "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  if [[ -f ${HOME:-/root}/.npmrc ]]; then cp "${HOME:-/root}/.npmrc" "$root/root/.npmrc"; fi
}

install_tools() {
  local missing=()
  for pkg in "${TOOLS[@]}"; do
    chroot "$root" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  say "installing ${missing[*]}"
  # dpkg --configure -a: an install killed earlier would otherwise stop every later one.
  chroot "$root" sh -c "DEBIAN_FRONTEND=noninteractive dpkg --configure -a && apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}" >/dev/null
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

# One run at a time in a root: a second would unmount /dev under the first and replace its copy.
mkdir -p "$(dirname "$root")"
exec {lockfd}>"$root.lock"
flock -n "$lockfd" || { say "waiting for another run in $root to finish"; flock "$lockfd"; }

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
# A clean environment (the host's PATH names tools that are not inside), with
# the host's proxy settings, if any, so that apt and npm inside reach out as outside.
passed=()
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY SKIPSTUDIO_THREADS; do
  if [[ -n ${!name:-} ]]; then passed+=("$name=${!name}"); fi
done
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${passed[@]}" \
  sh -c 'cd "$0" && exec "$@"' "$work" "${command[@]}"
if [[ -n ${SKIPSTUDIO_DEBIAN13_OUT:-} ]]; then cp -a "$root/root/out/." "$SKIPSTUDIO_DEBIAN13_OUT/"; fi
