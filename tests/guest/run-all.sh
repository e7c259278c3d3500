# Runs integration test files, each through run_file (lib.sh: begin and
# end markers, its status), then asks kmemleak for a scan, so that a leak
# shows on the console, and prints "itest: done".
#
#   run-all.sh                 every /test/NN-*.sh, in order
#   run-all.sh 30 50           only those numbers
#   run-all.sh FILE.sh ARGS... one other file (tier.sh, boot-builtin.sh)
#   run-all.sh FILE.sh ARGS... , FILE.sh ARGS...
#                              several, in one boot (a lone "," separates)
#
# A number that matches no file still runs (sourcing /test/NN-*.sh fails), so
# that the console checker sees a file without a plan.
. /test/lib.sh
case ${1:-} in
*.sh)
	# Arguments are single words (numbers, modes): they are split again.
	while [ $# -gt 0 ]; do
		f=$1 args=""; shift
		while [ $# -gt 0 ] && [ "$1" != , ]; do args="$args $1"; shift; done
		[ $# -gt 0 ] && shift
		# shellcheck disable=SC2086
		run_file "$f" source_file "/test/$f" $args
	done
	;;
*)
	files=/test/[0-9][0-9]-*.sh
	if [ $# -gt 0 ]; then
		files=$(for n in "$@"; do echo /test/"$n"-*.sh; done)
	fi
	for t in $files; do
		run_file "$(basename "$t")" source_file "$t"
	done
	;;
esac
run_file kmemleak kmemleak_check
itest_line "itest: done"
