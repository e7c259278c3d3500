# Parity with DAMON_RECLAIM, which the test kernel has built in, compared
# in the same boot before anything ran DAMON: every parameter in
# /sys/module/damon_reclaim/parameters exists in damon_autotune with the
# same default, and the same type as seen from user space: a value in
# another notation reads back the same (0x10 for a number, 0 for a
# boolean, which is N by default everywhere), and a word is refused with
# the same error (or both are read-only and refuse any write alike).
itest_plan $((2 + 3 * $(ls $R 2>/dev/null | wc -l)))

check parity_damon_reclaim_built_in test -d $R
rmmod damon_autotune 2>/dev/null
check parity_insmod insmod /damon_autotune.ko

# probe FILE VALUE: writes VALUE; prints what a user sees: the value read
# back, or the error.
probe() {
	local err
	if err=$(sh -c "echo '$2' > '$1'" 2>&1); then
		echo "accepted, reads '$(cat "$1")'"
	else
		echo "refused: ${err##*: }"
	fi
}

for f in $R/*; do
	name=$(basename "$f")
	if [ ! -e "$P/$name" ]; then
		fail "parity_${name}_exists" "DAMON_RECLAIM has it, damon_autotune does not"
		fail "parity_${name}_notation" "missing"
		fail "parity_${name}_word" "missing"
		continue
	fi
	def=$(cat "$f")
	check_eq "parity_${name}_default" "$(param "$name")" "$def"
	case $def in
	Y | N) v=0 ;;
	*) v=0x10 ;;
	esac
	check_eq "parity_${name}_notation" "$(probe "$P/$name" $v)" "$(probe "$f" $v)"
	check_eq "parity_${name}_word" "$(probe "$P/$name" abc)" "$(probe "$f" abc)"
	# The defaults back, on both.
	echo "$def" > "$f" 2>/dev/null
	echo "$def" > "$P/$name" 2>/dev/null
done
rmmod damon_autotune
