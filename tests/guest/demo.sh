# The demo `make run` boots: load the module with its defaults, enable it,
# show the kdamond working and the parameters, disable, unload.
. /test/lib.sh
say() { echo "demo: $*"; }
say "kernel $(uname -r), $(grep MemTotal /proc/meminfo)"
insmod /damon_autotune.ko && say "loaded damon_autotune.ko"
say "parameters:"
for f in "$P"/*; do say "  $(basename "$f") = $(cat "$f")"; done
echo Y > "$P/enabled" && say "enabled=Y"
pid=$(param kdamond_pid)
if kdamond_running "$pid"; then
	say "kdamond running: pid $pid ($(cat /proc/$pid/comm))"
	sleep 2
	say "kdamond CPU time after 2 s: $(awk '{print $14 + $15}' /proc/$pid/stat) ticks"
	echo "itest: ok demo_kdamond_runs"
else
	echo "itest: not ok demo_kdamond_runs: no kdamond"
fi
echo N > "$P/enabled" && say "enabled=N, kdamond_pid = $(param kdamond_pid)"
rmmod damon_autotune && say "unloaded"
echo "itest: done"
