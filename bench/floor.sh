# shellcheck shell=bash
# The bare-FUSE floor of compare.sh (DESIGN.md §5): libfuse's passthrough_ll
# example, compiled from the source Debian's libfuse3-dev ships and mounted
# over a plain directory. A FUSE file system that does nothing but forward each
# request costs this much; walship cannot be cheaper. Source it after lib.sh;
# it defines functions and touches nothing else.
#
#   floor_unavailable
#       prints why the floor cannot be built here, nothing when it can.
#   floor_build BIN
#       compiles passthrough_ll.c into BIN when BIN is missing or older than
#       the source. FLOOR_SRC overrides the source's path.
#   floor_start NAME BIN DIR [OPTIONS]
#       mounts a fresh DIR/src on DIR/mnt with `BIN -f -o source=DIR/src,OPTIONS`
#       in the background and waits for the mount; its log is
#       DIR/passthrough_ll.log. It is kept in lib.sh's NODE_PID/NODE_DIR, so
#       walship_node_stop NAME and walship_nodes_stop_all stop it (SIGTERM by
#       PID, then a lazy unmount) like a walship node.

FLOOR_SRC=${FLOOR_SRC:-/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c}

floor_unavailable() {
  if [[ ! -r $FLOOR_SRC ]]; then
    echo "$FLOOR_SRC is missing (Debian package libfuse3-dev; an image that" \
      "path-excludes /usr/share/doc drops it; FLOOR_SRC=PATH points elsewhere)"
  elif ! command -v cc >/dev/null 2>&1; then
    echo "there is no C compiler (cc)"
  elif ! pkg-config --exists fuse3 2>/dev/null; then
    echo "pkg-config does not know fuse3 (Debian packages pkgconf, libfuse3-dev)"
  fi
}

floor_build() {
  local bin=$1
  [[ -x $bin && $bin -nt $FLOOR_SRC ]] && return 0
  mkdir -p "$(dirname "$bin")"
  # The example's own directory holds passthrough_helpers.h, which cc finds
  # beside the source. The libraries go after the source for --as-needed.
  # shellcheck disable=SC2046  # pkg-config prints several words
  cc -Wall -O2 $(pkg-config --cflags fuse3) "$FLOOR_SRC" -o "$bin" $(pkg-config --libs fuse3)
}

# NODE_PID and NODE_DIR are lib.sh's associative arrays.
# shellcheck disable=SC2034,SC2004
floor_start() {
  local name=$1 bin=$2 dir=$3 options=${4:-}
  mkdir -p "$dir/src" "$dir/mnt"
  "$bin" -f -o "source=$dir/src${options:+,$options}" "$dir/mnt" >"$dir/passthrough_ll.log" 2>&1 &
  NODE_PID[$name]=$!
  NODE_DIR[$name]=$dir
  node_wait_ready "$name" "$dir/passthrough_ll.log" mountpoint -q "$dir/mnt"
}
