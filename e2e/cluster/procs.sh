# Sourced by start.sh here and by ../node/start.sh, with $dir set: the
# processes a test cluster in DIR runs, one per name, recorded in DIR/pids.
touch "$dir/pids"
# running NAME: whether DIR/pids has a live process of NAME started for DIR
# (its command line names DIR; a zombie's is empty).
running() {
  pid=$(awk -v n="$1" '$1 == n { print $2 }' "$dir/pids")
  [ -n "$pid" ] && grep -qF "$dir" "/proc/$pid/cmdline" 2>/dev/null
}
# launch NAME ARGS...: starts in the background, logging to DIR/NAME.log.
launch() {
  name=$1; shift
  echo "--- $(date -u +%FT%TZ) start" >>"$dir/$name.log"
  "$@" </dev/null >>"$dir/$name.log" 2>&1 &
  { grep -v "^$name " "$dir/pids" || true; echo "$name $!"; } >"$dir/pids.tmp"
  mv "$dir/pids.tmp" "$dir/pids"
}

