# Runs every integration test file (NN-*.sh) in order, or only those whose
# numbers are given (run-all.sh 30 50), then asks kmemleak for a scan, so
# that a leak shows on the console.
. /test/lib.sh
files=/test/[0-9][0-9]-*.sh
if [ $# -gt 0 ]; then
	files=$(for n in "$@"; do echo /test/"$n"-*.sh; done)
fi
for t in $files; do
	echo "itest: file $(basename "$t")"
	t0=$(uptime_s)
	( . "$t" )
	echo "itest: file $(basename "$t") took $(( $(uptime_s) - t0 )) s"
done
kmemleak_check
echo "itest: done"
