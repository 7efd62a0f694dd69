#!/bin/sh
# Installs the Readout agent: binary, config with this host's credentials,
# the default allowlist, an unprivileged `readout` user, and a once-a-minute
# run (systemd timer when systemd runs, else cron).
#
#   curl -fsSL https://SERVER/agent/install.sh | sh -s -- \
#       --server https://SERVER --host-id ID --api-key KEY
#
# Options:
#   --server URL        server URL; repeat for fail-over (required)
#   --host-id ID        from `readout host add` (required)
#   --api-key KEY       from `readout host add` (required)
#   --root DIR          install under DIR instead of / (for packaging and
#                       tests: no user is created and nothing is started)
#   --binary FILE       install this agent binary instead of downloading it
#   --allowlist FILE    start from this allowlist instead of the default
#   --as-root           run the agent as root (default: user `readout`)
#   --scheduler KIND    systemd, cron or none (default: detected)
#   --no-start          write everything but do not start the agent
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "readout: $*"; }

SERVERS=""; HOST_ID=""; API_KEY=""; ROOT="/"; BINARY=""; ALLOWLIST=""
AS_ROOT=0; SCHEDULER=""; START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --server) [ $# -ge 2 ] || die "--server needs a URL"; SERVERS="$SERVERS $2"; shift 2 ;;
        --host-id) [ $# -ge 2 ] || die "--host-id needs a value"; HOST_ID=$2; shift 2 ;;
        --api-key) [ $# -ge 2 ] || die "--api-key needs a value"; API_KEY=$2; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
        --binary) [ $# -ge 2 ] || die "--binary needs a file"; BINARY=$2; shift 2 ;;
        --allowlist) [ $# -ge 2 ] || die "--allowlist needs a file"; ALLOWLIST=$2; shift 2 ;;
        --as-root) AS_ROOT=1; shift ;;
        --scheduler) [ $# -ge 2 ] || die "--scheduler needs systemd, cron or none"; SCHEDULER=$2; shift 2 ;;
        --no-start) START=0; shift ;;
        -h|--help) sed -n '2,22p' "$0" 2>/dev/null || true; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -n "$SERVERS" ] || die "--server is required"
[ -n "$HOST_ID" ] || die "--host-id is required"
[ -n "$API_KEY" ] || die "--api-key is required"
case "$HOST_ID$API_KEY" in *[!A-Za-z0-9_-]*) die "--host-id and --api-key hold only A-Z, a-z, 0-9, '_' and '-'" ;; esac
for s in $SERVERS; do
    case "$s" in https://*|http://*) ;; *) die "server URL $s must start with https:// or http://" ;; esac
    case "$s" in *'"'*|*'\'*) die "server URL $s contains a quote or backslash" ;; esac
done
case "$SCHEDULER" in
    "") if [ -d /run/systemd/system ]; then SCHEDULER=systemd
        elif command -v crontab >/dev/null 2>&1 || [ -d /etc/cron.d ]; then SCHEDULER=cron
        else SCHEDULER=none; fi ;;
    systemd|cron|none) ;;
    *) die "--scheduler must be systemd, cron or none" ;;
esac
if [ "$ROOT" = "/" ]; then
    [ "$(id -u)" = 0 ] || die "run as root (or use --root DIR for a user-owned install)"
    LIVE=1; R=""
else
    mkdir -p "$ROOT" || die "cannot create $ROOT"
    LIVE=0; R=$(cd "$ROOT" && pwd)
fi

BIN=/usr/local/bin/readout-agent
ETC=/etc/readout
STATE=/var/lib/readout-agent
MANIFEST=$R$ETC/install.manifest
USER_NAME=readout
[ "$AS_ROOT" = 1 ] && USER_NAME=root
FIRST_SERVER=$(echo $SERVERS | cut -d' ' -f1)

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then curl -fsSL "$1" -o "$2"
    elif command -v wget >/dev/null 2>&1; then wget -q "$1" -O "$2"
    else die "need curl or wget to download $1"; fi
}

mkdir -p "$R/usr/local/bin" "$R$ETC" "$R$STATE"
: > "$MANIFEST.new"
record() { echo "$1" >> "$MANIFEST.new"; }

# The binary.
if [ -n "$BINARY" ]; then
    cp "$BINARY" "$R$BIN.new" || die "cannot copy $BINARY"
else
    say "downloading the agent for $(uname -m) from $FIRST_SERVER"
    fetch "$FIRST_SERVER/agent/readout-agent?arch=$(uname -m)" "$R$BIN.new" \
        || die "cannot download the agent; build it and pass --binary FILE"
fi
chmod 0755 "$R$BIN.new" && mv "$R$BIN.new" "$R$BIN"
record "file $BIN"

# The allowlist: the owner's file is never overwritten.
if [ -f "$R$ETC/available_commands.sh" ]; then
    say "keeping the existing allowlist $ETC/available_commands.sh"
else
    if [ -n "$ALLOWLIST" ]; then cp "$ALLOWLIST" "$R$ETC/available_commands.sh.new"
    else fetch "$FIRST_SERVER/agent/available_commands.sh" "$R$ETC/available_commands.sh.new"; fi
    chmod 0644 "$R$ETC/available_commands.sh.new"
    mv "$R$ETC/available_commands.sh.new" "$R$ETC/available_commands.sh"
    record "file $ETC/available_commands.sh"
fi

# The config, readable by the agent's user only (it holds the API key).
SERVER_LIST=""
for s in $SERVERS; do SERVER_LIST="$SERVER_LIST${SERVER_LIST:+, }\"$s\""; done
umask 077
cat > "$R$ETC/agent.toml.new" <<CONF
# Readout agent configuration, written by install.sh.
servers = [$SERVER_LIST]
host_id = "$HOST_ID"
api_key = "$API_KEY"
allowlist = "$ETC/available_commands.sh"
state_dir = "$STATE"
CONF
umask 022
mv "$R$ETC/agent.toml.new" "$R$ETC/agent.toml"
record "file $ETC/agent.toml"
record "dir $STATE"
record "dir $ETC"

# The user. The allowlist stays root's: the agent cannot widen it.
if [ "$USER_NAME" = readout ] && [ "$LIVE" = 1 ]; then
    if ! id readout >/dev/null 2>&1; then
        if command -v useradd >/dev/null 2>&1; then
            useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin readout 2>/dev/null \
                || useradd -r -d "$STATE" -s /sbin/nologin readout
        else
            adduser -S -D -H -h "$STATE" -s /sbin/nologin readout
        fi
        record "user readout"
    fi
    chown -R readout "$R$STATE"
    chgrp "$(id -gn readout)" "$R$ETC/agent.toml" && chmod 0640 "$R$ETC/agent.toml"
fi

RUN="$BIN --config $ETC/agent.toml once"
case "$SCHEDULER" in
    systemd)
        mkdir -p "$R/etc/systemd/system"
        cat > "$R/etc/systemd/system/readout-agent.service" <<UNIT
[Unit]
Description=Readout agent: one cycle
Documentation=https://github.com/readout-monitoring/readout
After=network-online.target

[Service]
Type=oneshot
User=$USER_NAME
ExecStart=$RUN
TimeoutStartSec=120
UNIT
        cat > "$R/etc/systemd/system/readout-agent.timer" <<UNIT
[Unit]
Description=Readout agent: once a minute

[Timer]
OnBootSec=30s
OnUnitActiveSec=60s
AccuracySec=1s
RandomizedDelaySec=5s

[Install]
WantedBy=timers.target
UNIT
        record "file /etc/systemd/system/readout-agent.service"
        record "file /etc/systemd/system/readout-agent.timer"
        record "systemd readout-agent.timer"
        if [ "$LIVE" = 1 ] && [ "$START" = 1 ]; then
            systemctl daemon-reload
            systemctl enable --now readout-agent.timer
        fi ;;
    cron)
        mkdir -p "$R/etc/cron.d"
        echo "* * * * * $USER_NAME $RUN >/dev/null 2>&1" > "$R/etc/cron.d/readout-agent"
        chmod 0644 "$R/etc/cron.d/readout-agent"
        record "file /etc/cron.d/readout-agent" ;;
    none) say "no scheduler: run '$RUN' once a minute yourself, or '$BIN --config $ETC/agent.toml run'" ;;
esac
mv "$MANIFEST.new" "$MANIFEST"

"$R$BIN" check --allowlist "$R$ETC/available_commands.sh" || say "fix the invalid lines above; they are not run"
if [ "$LIVE" = 1 ] && [ "$START" = 1 ]; then
    say "running a first cycle"
    if [ "$USER_NAME" = readout ] && command -v su >/dev/null 2>&1; then
        su -s /bin/sh readout -c "$RUN" || say "the first cycle failed; see above"
    else
        $RUN || say "the first cycle failed; see above"
    fi
fi
say "installed under ${R:-/}: agent $BIN, config $ETC/agent.toml, allowlist $ETC/available_commands.sh, scheduler $SCHEDULER"
