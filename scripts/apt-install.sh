#!/usr/bin/env bash
# Install Debian packages for `make test`, waiting (bounded) while another apt or dpkg runs.
#
# `apt-get install` waits for the dpkg lock itself (DPkg::Lock::Timeout, apt >= 1.9.11), but
# `apt-get update` gives up at once when another process holds the package lists' lock
# (checked with apt 2.6), so it is retried here until the same deadline. Any other failure
# (no network, unknown package) is reported at once.
set -euo pipefail
wait_s=${APT_LOCK_WAIT_S:-300}
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
apt=($sudo apt-get -o "DPkg::Lock::Timeout=$wait_s")
deadline=$((SECONDS + wait_s))
until errors=$("${apt[@]}" update -qq 2>&1 >/dev/null); do
  if ! grep -q -E "Could not get lock|Unable to lock" <<<"$errors" || ((SECONDS >= deadline)); then
    echo "$errors" >&2
    echo "apt-get update failed (waited up to ${wait_s} s for another apt to finish)" >&2
    exit 1
  fi
  echo "another apt is updating the package lists; waiting (up to ${wait_s} s)" >&2
  sleep 5
done
"${apt[@]}" install -y -qq "$@" >/dev/null
