# Readout agent allowlist: the only commands this machine will ever run for
# Readout. The server chooses among these names; it can never add a command.
#
# One command per line:   readout_NAME="shell command"
#   - NAME uses only A-Z, a-z, 0-9 and _ ; no spaces around '=' ;
#   - the command is inside double quotes and contains no double quote;
#   - the command runs through /bin/sh -c as the agent's user.
# Check this file with:   readout-agent check
readout_free="free"
readout_uptime="uptime"
readout_df="df -P"
readout_vmstat="vmstat 1 2"
readout_ps="ps aux"
readout_loadavg="cat /proc/loadavg"
readout_meminfo="cat /proc/meminfo"
readout_stat="cat /proc/stat"
readout_netdev="cat /proc/net/dev"
readout_top="top -b -n 1 | head -n 5"
readout_hostname="hostname"
readout_uname="uname -srm"
