#!/bin/sh
# Removes everything install.sh made, as listed in its manifest
# (/etc/readout/install.manifest): files, timer or cron entry, state and
# spool, and the `readout` user if install.sh created it.
#
#   sh uninstall.sh [--root DIR]
set -eu

die() { echo "uninstall.sh: $*" >&2; exit 1; }
ROOT="/"
while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" 2>/dev/null || true; exit 0 ;;
        *) die "unknown option $1" ;;
    esac
done
if [ "$ROOT" = "/" ]; then LIVE=1; R=""; else LIVE=0; R=$(cd "$ROOT" && pwd) || die "no directory $ROOT"; fi
MANIFEST=$R/etc/readout/install.manifest
[ -f "$MANIFEST" ] || die "no $MANIFEST: nothing installed by install.sh here"

# Stop first, then remove; directories last, and only if empty of others' files.
while read -r kind what; do
    [ "$kind" = systemd ] && [ "$LIVE" = 1 ] && systemctl disable --now "$what" 2>/dev/null || true
done < "$MANIFEST"
while read -r kind what; do
    case "$kind" in
        file) rm -f "$R$what" ;;
        user) [ "$LIVE" = 1 ] && { userdel "$what" 2>/dev/null || deluser "$what" 2>/dev/null || true; } ;;
    esac
done < "$MANIFEST"
[ "$LIVE" = 1 ] && command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
DIRS=$(awk '$1 == "dir" { print $2 }' "$MANIFEST")
rm -f "$MANIFEST"
for d in $DIRS; do
    case "$d" in
        /var/lib/readout-agent) rm -rf "$R$d" ;;
        *) rmdir "$R$d" 2>/dev/null || echo "uninstall.sh: kept $R$d: it holds files install.sh did not make" ;;
    esac
done
echo "readout: agent removed from ${R:-/}"
