#!/usr/bin/env bash
# The machine's one-VM-at-a-time lock, taken in arrival order.
#
#   tools/qemu/lock.sh COMMAND [ARGS...]   runs COMMAND holding the lock
#   . tools/qemu/lock.sh; vm_lock FD       takes it on file descriptor FD
#
# The lock is ${DAMON_AUTOTUNE_VM_LOCK:-/tmp/damon_autotune-vm.lock}, an
# flock(1) lock.  flock alone is not fair: when it is released, any waiter
# may get it, and with several waiters one waited over 30 minutes.  So a
# waiter first takes a ticket (a file named by its arrival time and pid in
# LOCK.queue) and asks for the flock only when its ticket is the oldest of
# the living ones; tickets of processes that died are removed.  Someone who
# takes the flock directly (flock LOCK make ...) still gets it in turn with
# the ticket holder at the head of the queue.
vm_lock() {
	local fd=$1 lock=${DAMON_AUTOTUNE_VM_LOCK:-/tmp/damon_autotune-vm.lock}
	local queue=$lock.queue ticket first pid said=0
	mkdir -p "$queue"
	eval "exec $fd>\"\$lock\""
	# Nobody queued and the lock free: take it at once.
	[ -z "$(ls "$queue")" ] && flock -n "$fd" && return 0
	ticket=$queue/$(date +%s%N)-$$
	# A waiter that dies leaves its ticket; the next waiter removes it.
	: > "$ticket"
	while :; do
		for first in $(ls "$queue" 2>/dev/null | sort); do
			pid=${first##*-}
			if kill -0 "$pid" 2>/dev/null; then break; fi
			rm -f "$queue/$first"
			first=
		done
		[ "$queue/$first" = "$ticket" ] && break
		if [ $said = 0 ]; then
			echo "vm-lock: waiting for $lock, $(ls "$queue" | wc -l) in the queue (another VM or kernel build runs)" >&2
			said=1
		fi
		sleep 2
	done
	flock "$fd"
	rm -f "$ticket"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
	vm_lock 8
	exec "$@"
fi
