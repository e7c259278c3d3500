# Every example of Documentation/admin-guide.rst, as written there
# (tools/docs.py extracts them into /bin/doc-example-N.sh): each must run
# to the end without an error, and leave the module unloaded and no
# kdamond behind.
itest_plan $((1 + 3 * $(ls /bin/doc-example-*.sh 2>/dev/null | wc -l)))

rmmod damon_autotune 2>/dev/null
base=$(nr_kdamonds)
n=0
for ex in /bin/doc-example-*.sh; do
	[ -f "$ex" ] || continue
	n=$((n + 1))
	name=$(basename "$ex" .sh)
	check "${name}_runs" sh -e "$ex"
	check "${name}_unloads_module" absent /sys/module/damon_autotune
	wait_until 10 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $base ]"
	check_eq "${name}_no_kdamond_left" "$(nr_kdamonds)" "$base"
	rmmod damon_autotune 2>/dev/null
done
check doc_examples_found [ "$n" -gt 0 ]
