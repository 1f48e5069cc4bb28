# gen.sh: sourced by build.sh. add_generated GEN STAGE copies the man pages
# and shell completions found under GEN into STAGE and appends their entries
# to STAGE/nfpm.yaml (whose last key is contents). A missing GEN, or a
# missing man/ or completions/ in it, adds nothing.

# add_entry SRC DST appends one file (mode 0644) to STAGE/nfpm.yaml.
add_entry() {
	printf '  - src: "%s"\n    dst: "%s"\n    file_info: {mode: 0644}\n' "$1" "$2" >>"$stage_dir/nfpm.yaml"
}

add_generated() {
	gen_dir=$1
	stage_dir=$2
	mkdir -p "$stage_dir/gen"
	for page in "$gen_dir"/man/*.[1-8]; do
		[ -f "$page" ] || continue # the unmatched pattern itself
		name=$(basename "$page")
		# -n: no name or time in the header, so the bytes depend on the page only.
		gzip -9n <"$page" >"$stage_dir/gen/$name.gz"
		add_entry "$stage_dir/gen/$name.gz" "/usr/share/man/man${name##*.}/$name.gz"
	done
	for comp in "$gen_dir"/completions/*; do
		[ -f "$comp" ] || continue
		case $(basename "$comp") in
		hasidecar.bash) dst=/usr/share/bash-completion/completions/hasidecar ;;
		_hasidecar) dst=/usr/share/zsh/vendor-completions/_hasidecar ;;
		hasidecar.fish) dst=/usr/share/fish/vendor_completions.d/hasidecar.fish ;;
		*)
			echo "build.sh: $comp: unknown completion file (want hasidecar.bash, _hasidecar or hasidecar.fish)" >&2
			return 1
			;;
		esac
		cp "$comp" "$stage_dir/gen/$(basename "$comp")"
		add_entry "$stage_dir/gen/$(basename "$comp")" "$dst"
	done
}
