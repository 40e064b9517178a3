#!/usr/bin/env bash
# pmem-emulate.sh -- emulate persistent memory on an ordinary Linux machine the way
# its users do (the memmap kernel parameter, then an fsdax namespace, a filesystem
# and a DAX mount), or explain why it cannot be done here and what to use instead.
# Run with --help for the commands.
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
GiB=$((1 << 30))
# Inputs that tests may point elsewhere.
iomem="${PMEM_EMULATE_IOMEM:-/proc/iomem}"
grub_default="${PMEM_EMULATE_GRUB:-/etc/default/grub}"

cmd=plan size_arg=4G offset_arg="" mount_point=/mnt/pmem fs=ext4 dev=/dev/pmem0
ns="" yes=0

usage() {
	cat <<'EOF'
Usage: bash scripts/pmem-emulate.sh [COMMAND] [OPTIONS]

Emulated persistent memory, as on a real Linux machine: part of the RAM is
reserved with the kernel parameter memmap=SIZE!OFFSET, shows up after a reboot
as /dev/pmem0, becomes an fsdax namespace, gets a filesystem and is mounted with
-o dax.  daxkv then maps its pool there with MAP_SYNC, as on real pmem.

Commands:
  plan     (default) read /proc/iomem (root needed to see addresses), pick a free,
           1 GiB-aligned range of SIZE above 4 GiB inside System RAM, and print the
           kernel parameter and the GRUB line.  Changes nothing.
  install  add that parameter to GRUB_CMDLINE_LINUX in /etc/default/grub (after a
           backup), run update-grub (or grub2-mkconfig), and ask you to reboot.
  setup    after the reboot: make /dev/pmem0 an fsdax namespace (ndctl), make a
           filesystem on it, mount it with -o dax, and prove DAX with a MAP_SYNC
           mapping.  ERASES the device.
  check    report what is there: kernel support, memmap, /dev/pmem*, namespaces,
           DAX mounts (each probed with MAP_SYNC), /dev/shm.  Changes nothing
           (the probe creates and removes one unlinked temporary file per mount).

Options:
  --size=SIZE       emulated pmem size, K/M/G/T suffix, multiple of 128M (default 4G)
  --offset=OFFSET   start address instead of the computed one (plan/install)
  --mount=DIR       mount point (default /mnt/pmem)
  --fs=ext4|xfs     filesystem for setup (default ext4; xfs uses -m reflink=0)
  --dev=DEV         pmem block device for setup (default /dev/pmem0)
  --namespace=NS    ndctl namespace of DEV (default: looked up, else namespace0.0)
  --yes             do not ask for confirmation (install, setup)
  -h, --help        this text

Exit status: 0 done (check: a verified DAX mount exists); 1 failed or not
possible here; 2 bad usage; 3 (check) no DAX mount: use the /dev/shm fallback.

Where none of this is possible (a container, a CI runner, a VM whose kernel the
hypervisor starts, no root), use tmpfs with PMEM_IS_PMEM_FORCE=1; the commands
print how.  Memmap pmem is ordinary DRAM: it behaves like pmem (DAX, MAP_SYNC,
no page cache) but its contents do not survive a power loss.
EOF
}

die() {
	echo "pmem-emulate: $*" >&2
	exit 1
}

# ---- sizes -------------------------------------------------------------------

parse_size() { # "4G" | "512M" | "4GiB" | bytes -> bytes on stdout
	local v="${1^^}" n unit
	v="${v%IB}"
	v="${v%B}"
	[[ "$v" =~ ^([0-9]+)([KMGT]?)$ ]] || return 1
	n="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}"
	case "$unit" in
	K) n=$((n << 10)) ;;
	M) n=$((n << 20)) ;;
	G) n=$((n << 30)) ;;
	T) n=$((n << 40)) ;;
	esac
	echo "$n"
}

fmt_size() { # bytes -> the largest exact unit, as the kernel parameter writes it
	local b="$1"
	if ((b % GiB == 0)); then
		echo "$((b / GiB))G"
	elif ((b % (1 << 20) == 0)); then
		echo "$((b >> 20))M"
	else
		echo "$((b >> 10))K"
	fi
}

hex() { printf '0x%x' "$1"; }

# ---- what this machine is -----------------------------------------------------

kconfig=""
kconfig_src=""
load_kconfig() {
	local f
	f="/boot/config-$(uname -r)"
	if [[ -r "$f" ]]; then
		kconfig="$(cat "$f")" kconfig_src="$f"
	elif [[ -r /proc/config.gz ]]; then
		kconfig="$(zcat /proc/config.gz 2>/dev/null || true)" kconfig_src=/proc/config.gz
	fi
}

kconfig_val() { # NAME -> y | m | n | ? (unknown)
	[[ -n "$kconfig" ]] || { echo "?"; return; }
	local line
	line="$(grep -E "^(# )?CONFIG_$1[= ]" <<<"$kconfig" | head -n 1 || true)"
	case "$line" in
	"CONFIG_$1=y") echo y ;;
	"CONFIG_$1=m") echo m ;;
	*) echo n ;;
	esac
}

# Kernel options memmap-emulated pmem needs, up to an fsdax namespace and a DAX mount.
kernel_needs=(X86_PMEM_LEGACY LIBNVDIMM BLK_DEV_PMEM NVDIMM_PFN FS_DAX)

container_kind() { # prints the container technology, or nothing
	if command -v systemd-detect-virt >/dev/null 2>&1; then
		local c
		c="$(systemd-detect-virt -c 2>/dev/null || true)"
		[[ -n "$c" && "$c" != none ]] && { echo "$c"; return; }
	fi
	[[ -e /.dockerenv ]] && { echo docker; return; }
	[[ -e /run/.containerenv ]] && { echo podman; return; }
	return 0
}

vm_kind() {
	if command -v systemd-detect-virt >/dev/null 2>&1; then
		local v
		v="$(systemd-detect-virt -v 2>/dev/null || true)"
		[[ -n "$v" && "$v" != none ]] && echo "$v"
	fi
	return 0
}

have_grub() {
	[[ -f "$grub_default" ]] && {
		command -v update-grub >/dev/null 2>&1 ||
			command -v grub2-mkconfig >/dev/null 2>&1 ||
			command -v grub-mkconfig >/dev/null 2>&1
	}
}

# Fills blockers[] with reasons the memmap route cannot work on this machine and
# notes[] with things worth knowing.  $1 = install|setup|plan|check.
blockers=()
notes=()
assess() {
	local purpose="$1" c v k missing=()
	blockers=() notes=()
	[[ "$(uname -m)" == x86_64 ]] ||
		blockers+=("memmap=SIZE!OFFSET (legacy pmem) exists on x86_64 only; this is $(uname -m)")
	c="$(container_kind)"
	[[ -z "$c" ]] ||
		blockers+=("this runs in a container ($c): the kernel and its command line belong to the host")
	if [[ "$purpose" != setup ]] && ! have_grub; then
		if [[ ! -f "$grub_default" ]] && ! grep -q 'BOOT_IMAGE=' /proc/cmdline 2>/dev/null &&
			[[ -z "$(ls -A /boot 2>/dev/null)" ]]; then
			blockers+=("no boot loader here (no $grub_default, nothing in /boot, no BOOT_IMAGE= on the kernel command line): the kernel is started directly by the hypervisor or host, so its command line cannot be changed from inside")
		else
			notes+=("no GRUB found ($grub_default and update-grub/grub2-mkconfig): add the parameter to your boot loader's kernel command line by hand")
		fi
	fi
	load_kconfig
	if [[ -n "$kconfig" ]]; then
		for k in "${kernel_needs[@]}"; do
			[[ "$(kconfig_val "$k")" != n ]] || missing+=("CONFIG_$k")
		done
		((${#missing[@]} == 0)) ||
			blockers+=("this kernel lacks ${missing[*]} ($kconfig_src): memmap pmem needs all of ${kernel_needs[*]/#/CONFIG_}")
	else
		notes+=("kernel configuration not readable (/boot/config-$(uname -r), /proc/config.gz): it needs ${kernel_needs[*]/#/CONFIG_}")
	fi
	v="$(vm_kind)"
	[[ -z "$v" ]] ||
		notes+=("virtual machine ($v): memmap works where the VM boots its own kernel through GRUB; the range comes out of the VM's RAM. (QEMU/KVM can also give a guest a virtual NVDIMM.)")
	[[ -z "${CI:-}" ]] || notes+=("CI is set: a CI runner cannot reboot into new kernel parameters")
	return 0
}

print_list() { # title items...
	local title="$1"
	shift
	(($# > 0)) || return 0
	echo "$title"
	local i
	for i in "$@"; do echo "  - $i"; done
}

print_fallback() {
	local avail
	avail="$(df -Ph /dev/shm 2>/dev/null | awk 'NR == 2 {print $4 " free of " $2}' || true)"
	cat <<EOF

Use instead: emulated pmem on tmpfs (/dev/shm${avail:+, $avail here})
  export PMEM_IS_PMEM_FORCE=1
  bash scripts/test.sh                                   # the tests do this already
  build/bench/daxkv-bench --engine=daxkv --directory=/dev/shm/daxkv-try --nrkeys=100000 --rw=randwrite
  # in a program: daxkv_open("/dev/shm/mystore", &opt, &db) with the variable set
Without PMEM_IS_PMEM_FORCE=1 libpmem reports a tmpfs mapping as not persistent
memory (no MAP_SYNC there), and daxkv will not treat it as pmem: it refuses
rather than claim durability it cannot give.  The variable makes libpmem treat
the mapping as pmem, so daxkv runs its real DAX code path (stores, flushes,
fences).  tmpfs is RAM: nothing survives a reboot or a power loss.  This is
emulation for development and tests, not durability.
EOF
}

# ---- /proc/iomem ---------------------------------------------------------------

ram_s=() ram_e=() child_s=() child_e=() child_n=() pm_lines=()
iomem_zero=1
read_iomem() {
	local line ind hs he name s e
	ram_s=() ram_e=() child_s=() child_e=() child_n=() pm_lines=()
	iomem_zero=1
	[[ -r "$iomem" ]] || return 1
	while IFS= read -r line; do
		[[ "$line" =~ ^(\ *)([0-9a-fA-F]+)-([0-9a-fA-F]+)\ :\ (.*)$ ]] || continue
		ind="${#BASH_REMATCH[1]}" hs="${BASH_REMATCH[2]}" he="${BASH_REMATCH[3]}"
		name="${BASH_REMATCH[4]}"
		((${#he} <= 15)) || continue # past 2^60: no RAM there; keeps bash arithmetic exact
		s=$((16#$hs)) e=$((16#$he))
		((e == 0)) || iomem_zero=0
		[[ "$name" != "Persistent Memory"* ]] || pm_lines+=("$(hex "$s")-$(hex "$e") $name")
		if ((ind == 0)) && [[ "$name" == "System RAM" ]]; then
			ram_s+=("$s") ram_e+=("$e")
		elif ((ind > 0)); then
			child_s+=("$s") child_e+=("$e") child_n+=("$name")
		fi
	done <"$iomem"
	return 0
}

align_up() { echo $((($1 + GiB - 1) / GiB * GiB)); }

# A range [off, off+size) is usable when it lies in one System RAM range, above
# 4 GiB, and overlaps nothing the kernel placed in that RAM (kernel image, crash
# kernel, ...).  Prints the name of what is in the way, if anything.
range_conflict() { # off size -> 0 usable | 1 (prints why)
	local off="$1" size="$2" last=$(($1 + $2 - 1)) i inram=0
	if ((off < 4 * GiB)); then echo "below 4 GiB"; return 1; fi
	for i in "${!ram_s[@]}"; do
		((off >= ram_s[i] && last <= ram_e[i])) && inram=1
	done
	((inram)) || { echo "not inside one System RAM range"; return 1; }
	for i in "${!child_s[@]}"; do
		if ((child_s[i] <= last && child_e[i] >= off)); then
			echo "${child_n[i]} at $(hex "${child_s[i]}")"
			return 1
		fi
	done
	return 0
}

# Largest System RAM range first; in it, the lowest 1 GiB-aligned free start.
plan_off=""
find_range() { # size -> sets plan_off, 0 found | 1 none
	local size="$1" i s e cand order
	plan_off=""
	order="$(for i in "${!ram_s[@]}"; do echo "$((ram_e[i] - ram_s[i])) $i"; done | sort -rn | awk '{print $2}')"
	for i in $order; do
		s="${ram_s[i]}" e="${ram_e[i]}"
		((s > 4 * GiB)) || s=$((4 * GiB))
		cand="$(align_up "$s")"
		while ((cand + size - 1 <= e)); do
			if range_conflict "$cand" "$size" >/dev/null; then
				plan_off="$cand"
				return 0
			fi
			cand=$((cand + GiB))
		done
	done
	return 1
}

mem_total_bytes() { echo $(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024)); }

current_grub_cmdline() { # the GRUB_CMDLINE_LINUX value as written (last line), no execution
	[[ -r "$grub_default" ]] || return 0
	sed -nE 's/^[[:space:]]*GRUB_CMDLINE_LINUX=["'\'']?([^"'\'']*)["'\'']?[[:space:]]*$/\1/p' \
		"$grub_default" | tail -n 1
}

# Computes the parameter for size_arg/offset_arg into $param; prints the plan.
param=""
make_plan() { # -> 0 with $param set | 1 (printed why)
	local size off total why
	size="$(parse_size "$size_arg")"
	if ! read_iomem; then
		echo "Cannot read $iomem."
		return 1
	fi
	if ((iomem_zero)); then
		echo "$iomem shows every address as zero: only root sees them."
		echo "  run: sudo bash scripts/pmem-emulate.sh plan"
		return 1
	fi
	((${#ram_s[@]} > 0)) || { echo "No 'System RAM' in $iomem."; return 1; }
	total="$(mem_total_bytes)"
	if ((total - size < 2 * GiB)); then
		echo "SIZE $(fmt_size "$size") would leave less than 2 GiB of this machine's $((total >> 20)) MiB RAM to the kernel."
		return 1
	fi
	if [[ -n "$offset_arg" ]]; then
		off="$(parse_size "$offset_arg")"
		((off % GiB == 0)) || die "--offset must be 1 GiB-aligned"
		if ! why="$(range_conflict "$off" "$size")"; then
			echo "--offset=$offset_arg does not fit: $why."
			return 1
		fi
	else
		if ! find_range "$size"; then
			echo "No free 1 GiB-aligned $(fmt_size "$size") range above 4 GiB inside System RAM."
			echo "  try a smaller --size"
			return 1
		fi
		off="$plan_off"
	fi
	param="memmap=$(fmt_size "$size")!$(fmt_size "$off")"
	local i largest=0
	for i in "${!ram_s[@]}"; do
		((ram_e[i] - ram_s[i] <= ram_e[largest] - ram_s[largest])) || largest=$i
	done
	echo "System RAM ranges in $iomem (largest: $(hex "${ram_s[largest]}")-$(hex "${ram_e[largest]}"), $(((ram_e[largest] - ram_s[largest] + 1) >> 20)) MiB); MemTotal $((total >> 20)) MiB"
	echo "Reserve $(fmt_size "$size") at $(hex "$off") ($(fmt_size "$off")) as emulated pmem:"
	echo
	echo "  kernel parameter:  $param"
	local cur
	cur="$(current_grub_cmdline)"
	echo "  GRUB ($grub_default):"
	echo "    GRUB_CMDLINE_LINUX=\"${cur:+$cur }$param\""
	if ((size * 2 > total)); then
		echo "  note: that is more than half of this machine's RAM"
	fi
	return 0
}

# ---- helpers for the commands that change the system ----------------------------

need_root() { # re-runs the script with sudo when not root
	((EUID == 0)) && return 0
	if command -v sudo >/dev/null 2>&1; then
		echo "pmem-emulate: $cmd needs root; re-running with sudo"
		exec sudo -- bash "$self" "${orig_args[@]}"
	fi
	die "$cmd needs root (run it as root, or install sudo)"
}

confirm() { # question -> 0 yes | exits
	((yes)) && return 0
	local answer=""
	if [[ -t 0 ]]; then
		read -r -p "$1 [y/N] " answer
	elif [[ -r /dev/tty ]] && { : </dev/tty; } 2>/dev/null; then
		read -r -p "$1 [y/N] " answer </dev/tty
	else
		die "no terminal to confirm on; pass --yes"
	fi
	[[ "$answer" == [yY]* ]] || die "cancelled"
}

grub_has_memmap() { grep -Eq '^[[:space:]]*GRUB_CMDLINE_LINUX=.*memmap=' "$grub_default"; }

grub_value_sourced() { # what grub-mkconfig will see (it sources the file)
	# shellcheck disable=SC2016 # expanded by the inner shell
	env -i "$BASH" -c '. "$1" >/dev/null 2>&1; printf "%s" "${GRUB_CMDLINE_LINUX:-}"' _ "$1"
}

grub_add_param() { # file param: append param to GRUB_CMDLINE_LINUX
	local f="$1" p="$2" k='^([[:space:]]*GRUB_CMDLINE_LINUX=)'
	if grep -Eq "${k}\"" "$f"; then
		sed -E -i -e "s|${k}\"([^\"]*)\"|\\1\"\\2 ${p}\"|" -e "s|${k}\" |\\1\"|" "$f"
	elif grep -Eq "${k}'" "$f"; then
		sed -E -i -e "s|${k}'([^']*)'|\\1'\\2 ${p}'|" -e "s|${k}' |\\1'|" "$f"
	elif grep -Eq "${k}" "$f"; then
		sed -E -i -e "s|${k}([^[:space:]#]*)|\\1\"\\2 ${p}\"|" -e "s|${k}\" |\\1\"|" "$f"
	else
		printf 'GRUB_CMDLINE_LINUX="%s"\n' "$p" >>"$f"
	fi
}

grub_regenerate() {
	local cfg
	if command -v update-grub >/dev/null 2>&1; then
		update-grub
	elif command -v grub2-mkconfig >/dev/null 2>&1; then
		for cfg in /boot/grub2/grub.cfg /boot/efi/EFI/*/grub.cfg; do
			[[ -f "$cfg" ]] && break
		done
		[[ -f "$cfg" ]] || die "no grub.cfg found for grub2-mkconfig; regenerate it by hand"
		grub2-mkconfig -o "$cfg"
		# Boot loader spec entries (Fedora, RHEL) keep their own options.
		if command -v grubby >/dev/null 2>&1; then
			grubby --update-kernel=ALL --args="$param"
		fi
	elif command -v grub-mkconfig >/dev/null 2>&1; then
		grub-mkconfig -o /boot/grub/grub.cfg
	else
		die "no update-grub/grub2-mkconfig: regenerate the GRUB configuration by hand"
	fi
}

# ---- probe: does a MAP_SYNC mapping work in a directory? --------------------------

probe_bin=""
probe_tmp=""
cleanup() { [[ -z "$probe_tmp" ]] || rm -rf -- "$probe_tmp"; }
trap cleanup EXIT

build_probe() { # -> 0 with $probe_bin | 1 no compiler
	[[ -n "$probe_bin" ]] && return 0
	local cc
	cc="$(command -v cc || command -v gcc || command -v clang || true)"
	[[ -n "$cc" ]] || return 1
	probe_tmp="$(mktemp -d "${TMPDIR:-/tmp}/daxkv-probe.XXXXXX")"
	cat >"$probe_tmp/probe.c" <<'EOF'
/* Maps a file in argv[1] with MAP_SHARED_VALIDATE | MAP_SYNC, which only a DAX
 * filesystem accepts.  0: DAX; 1: refused (not DAX); 2: could not probe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
int main(int argc, char **argv)
{
	char path[4096];
	size_t len = 2u << 20;
	void *p;
	int fd, err;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof(path), "%s/.daxkv-dax-probe.XXXXXX", argv[1]);
	fd = mkstemp(path);
	if (fd < 0) {
		printf("cannot create a file there: %s\n", strerror(errno));
		return 2;
	}
	unlink(path); /* nothing stays behind */
	if (ftruncate(fd, (off_t)len) != 0) {
		printf("ftruncate: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	if (p == MAP_FAILED) {
		err = errno;
		printf("MAP_SYNC refused (%s): not DAX\n", strerror(err));
		close(fd);
		return err == EOPNOTSUPP || err == EINVAL ? 1 : 2;
	}
	((volatile char *)p)[0] = 1; /* fault a page in through the DAX mapping */
	munmap(p, len);
	close(fd);
	printf("MAP_SYNC mapping works: DAX\n");
	return 0;
}
EOF
	"$cc" -O1 -o "$probe_tmp/probe" "$probe_tmp/probe.c" >/dev/null 2>&1 || return 1
	probe_bin="$probe_tmp/probe"
}

# build_probe runs in the main shell first: probe_dir runs inside $(...).
probe_dir() { # dir -> prints a verdict; 0 DAX | 1 not | 2 unknown
	local out rc=0
	if [[ -z "$probe_bin" ]]; then
		echo "not probed (no C compiler); mount options: $(findmnt -no OPTIONS --target "$1" 2>/dev/null || echo '?')"
		return 2
	fi
	out="$("$probe_bin" "$1")" || rc=$?
	echo "$out"
	return "$rc"
}

dax_mounts() { # prints "device mountpoint fstype" for mounts with a dax option
	awk '$4 ~ /(^|,)dax(=always|=inode)?(,|$)/ {print $1, $2, $3}' /proc/mounts
}

# ---- the commands --------------------------------------------------------------------

cmd_plan() {
	local ok=0
	echo "== pmem-emulate plan: $(uname -m), kernel $(uname -r)"
	if grep -q 'memmap=' /proc/cmdline 2>/dev/null; then
		echo "The running kernel already has: $(grep -oE 'memmap=[^ ]+' /proc/cmdline | tr '\n' ' ')"
	fi
	make_plan && ok=1
	assess plan
	echo
	print_list "Notes:" "${notes[@]}"
	if ((${#blockers[@]} > 0)); then
		echo
		((ok == 0)) || echo "That is what this memory map allows, but it cannot be applied here."
		print_list "NOT POSSIBLE HERE: this machine cannot use memmap-emulated pmem:" "${blockers[@]}"
		print_fallback
		return 0
	fi
	if ((ok)); then
		cat <<EOF

Next: sudo bash scripts/pmem-emulate.sh install${size_arg:+ --size=$size_arg}${offset_arg:+ --offset=$offset_arg}
      (adds it to GRUB_CMDLINE_LINUX, regenerates grub.cfg), reboot, then
      sudo bash scripts/pmem-emulate.sh setup
EOF
	else
		print_fallback
	fi
	return 0
}

cmd_install() {
	need_root
	assess install
	print_list "Notes:" "${notes[@]}"
	if ((${#blockers[@]} > 0)); then
		print_list "Cannot install memmap-emulated pmem here:" "${blockers[@]}"
		print_fallback
		return 1
	fi
	have_grub || die "no GRUB here: add the kernel parameter from 'plan' to your boot loader by hand"
	if grub_has_memmap; then
		echo "$grub_default already sets memmap: $(current_grub_cmdline)"
		echo "Nothing changed.  Remove it there first to choose another range."
		if ! grep -q 'memmap=' /proc/cmdline; then
			echo "The running kernel does not have it yet: reboot, then run: sudo bash scripts/pmem-emulate.sh setup"
		fi
		return 0
	fi
	make_plan || { print_fallback; return 1; }
	echo
	confirm "Add '$param' to GRUB_CMDLINE_LINUX in $grub_default and regenerate the GRUB configuration?"
	local backup
	backup="$grub_default.daxkv-bak-$(date +%Y%m%d-%H%M%S)"
	cp -p -- "$grub_default" "$backup"
	echo "backup: $backup"
	grub_add_param "$grub_default" "$param"
	local now
	now="$(grub_value_sourced "$grub_default")"
	if [[ " $now " != *" $param "* ]] || [[ "${now#*"$param"}" == *"$param"* ]]; then
		cp -p -- "$backup" "$grub_default"
		die "editing $grub_default went wrong (GRUB_CMDLINE_LINUX would be '$now'); restored it.  Add $param by hand."
	fi
	echo "GRUB_CMDLINE_LINUX is now: $now"
	grub_regenerate
	cat <<EOF

Done.  Reboot, then check that /dev/pmem0 exists and run:
  sudo bash scripts/pmem-emulate.sh setup${mount_point:+ --mount=$mount_point}
To undo: restore $backup and regenerate GRUB (update-grub), then reboot.
EOF
}

# The namespace that owns /dev/pmemN, and its mode, from 'ndctl list -N'.
ns_objects() { # one namespace per line, as compact JSON
	ndctl list -N 2>/dev/null | tr -d ' \t\n' | sed 's/},{/}\n{/g' || true
	echo
}
json_field() { # name <<< object -> value
	grep -oE "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4 || true
}
ns_mode=""
lookup_namespace() {
	local obj
	obj="$(ns_objects | grep -F "\"blockdev\":\"$(basename "$dev")\"" | head -n 1 || true)"
	ns_mode="$(json_field mode <<<"$obj")"
	[[ -n "$ns" ]] || ns="$(json_field dev <<<"$obj")"
	[[ -n "$ns" ]] || die "ndctl lists no namespace for $dev; pass --namespace= (see 'ndctl list -N')"
}

no_pmem_device() {
	echo "No $dev."
	if ! grep -q 'memmap=' /proc/cmdline 2>/dev/null; then
		echo "  The running kernel has no memmap= parameter: run 'plan' and 'install', then reboot."
	else
		echo "  The kernel has $(grep -oE 'memmap=[^ ]+' /proc/cmdline | tr '\n' ' ')but made no pmem device:"
		echo "  check the kernel has ${kernel_needs[*]/#/CONFIG_}, and 'dmesg | grep -i -e pmem -e e820'."
	fi
	local d present=()
	for d in /dev/pmem*; do [[ -b "$d" ]] && present+=("$d"); done
	if ((${#present[@]} > 0)); then echo "  Present: ${present[*]} (choose one with --dev=)"; fi
	print_fallback
	exit 1
}

cmd_setup() {
	need_root
	case "$fs" in ext4 | xfs) ;; *) die "--fs must be ext4 or xfs" ;; esac
	assess setup
	if ((${#blockers[@]} > 0)) && [[ ! -b "$dev" ]]; then
		print_list "Cannot set up memmap-emulated pmem here:" "${blockers[@]}"
		print_fallback
		return 1
	fi
	if [[ ! -b "$dev" ]] && grep -q 'memmap=' /proc/cmdline 2>/dev/null; then
		modprobe -q nd_e820 2>/dev/null || true
		modprobe -q nd_pmem 2>/dev/null || true
		sleep 1
	fi
	[[ -b "$dev" ]] || no_pmem_device

	local target
	target="$(findmnt -rn -S "$dev" -o TARGET 2>/dev/null | head -n 1 || true)"
	if [[ -n "$target" ]]; then
		[[ "$target" == "$mount_point" ]] || die "$dev is mounted at $target; unmount it or pass --mount=$target"
		echo "$dev is already mounted at $mount_point ($(findmnt -no OPTIONS "$mount_point"))"
	else
		if command -v ndctl >/dev/null 2>&1; then
			lookup_namespace
			echo "$dev: $ns, mode ${ns_mode:-unknown}"
		elif [[ "$(cat "/sys/block/$(basename "$dev")/queue/dax" 2>/dev/null || echo 0)" != 1 ]]; then
			die "ndctl is missing (apt-get install ndctl) and $dev does not support DAX as it is"
		else
			echo "ndctl is missing; $dev reports DAX support, going on without it"
			ns_mode=fsdax
		fi
		command -v "mkfs.$fs" >/dev/null 2>&1 ||
			die "mkfs.$fs missing: apt-get install $([[ "$fs" == xfs ]] && echo xfsprogs || echo e2fsprogs)"
		confirm "ERASE everything on $dev: make it fsdax, mkfs.$fs, mount -o dax at $mount_point?"
		if [[ "$ns_mode" != fsdax ]]; then
			ndctl create-namespace -f -e "$ns" -m fsdax
			if command -v udevadm >/dev/null 2>&1; then udevadm settle || true; fi
			[[ -b "$dev" ]] || die "after ndctl, $dev is gone; see 'ndctl list -N' and pass --dev="
		fi
		if [[ "$fs" == xfs ]]; then
			mkfs.xfs -f -m reflink=0 "$dev"
		else
			mkfs.ext4 -F "$dev"
		fi
		mkdir -p -- "$mount_point"
		mount -o dax "$dev" "$mount_point"
		if [[ -n "${SUDO_USER:-}" ]]; then
			chown -- "$SUDO_USER": "$mount_point"
		fi
	fi

	local opts verdict rc=0
	build_probe || true
	opts="$(findmnt -no OPTIONS "$mount_point")"
	echo "mounted: $dev on $mount_point ($opts)"
	verdict="$(probe_dir "$mount_point")" || rc=$?
	echo "DAX check: $verdict"
	if ((rc == 1)); then
		die "$mount_point is mounted but a MAP_SYNC mapping fails there: not DAX (see dmesg)"
	fi
	cat <<EOF

A DAX filesystem is ready at $mount_point.  daxkv maps it as pmem (no PMEM_IS_PMEM_FORCE):
  build/bench/daxkv-bench --engine=daxkv --directory=$mount_point/daxkv-bench --nrkeys=1000000 --rw=randwrite
$(grep -q 'memmap=' /proc/cmdline && echo "It is memmap-emulated, i.e. DRAM: its contents survive a crash of the process, not a power loss.")
The mount does not survive a reboot; to make it permanent, add to /etc/fstab:
  $dev $mount_point $fs dax,nofail 0 0
EOF
}

cmd_check() {
	local found=0 d line dev_ m fst verdict rc k
	echo "== pmem-emulate check: $(uname -m), kernel $(uname -r)"
	assess check
	local c v plat=() memmap
	c="$(container_kind)" v="$(vm_kind)"
	[[ -z "$v" ]] || plat+=("virtual machine ($v)")
	[[ -z "$c" ]] || plat+=("container ($c)")
	((${#plat[@]} > 0)) || plat=("no VM or container detected")
	echo "platform:   ${plat[0]}${plat[1]:+, ${plat[1]}}"
	build_probe || true
	if [[ -n "$kconfig" ]]; then
		echo -n "kernel:    "
		for k in "${kernel_needs[@]}"; do echo -n " $k=$(kconfig_val "$k")"; done
		echo "  ($kconfig_src)"
	else
		echo "kernel:     configuration not readable"
	fi
	memmap="$(grep -oE 'memmap=[^ ]+' /proc/cmdline 2>/dev/null | paste -sd' ' - || true)"
	echo "cmdline:    ${memmap:-no memmap= parameter}"
	if read_iomem && ((!iomem_zero)); then
		if ((${#pm_lines[@]} > 0)); then
			for line in "${pm_lines[@]}"; do echo "iomem:      $line"; done
		else
			echo "iomem:      no 'Persistent Memory' range"
		fi
	else
		echo "iomem:      addresses not visible (run as root to see them)"
	fi
	local devs=()
	for d in /dev/pmem* /dev/dax*; do [[ -e "$d" ]] && devs+=("$d"); done
	if ((${#devs[@]} > 0)); then
		for d in "${devs[@]}"; do
			local sz=""
			[[ -r "/sys/class/block/$(basename "$d")/size" ]] &&
				sz="$(($(cat "/sys/class/block/$(basename "$d")/size") * 512 >> 20)) MiB"
			echo "device:     $d ${sz}"
		done
	else
		echo "devices:    no /dev/pmem* or /dev/dax*"
	fi
	if command -v ndctl >/dev/null 2>&1; then
		local nsl=() obj
		while IFS= read -r obj; do
			[[ -n "$obj" ]] || continue
			nsl+=("$(json_field dev <<<"$obj") ($(json_field mode <<<"$obj"), $(json_field blockdev <<<"$obj"))")
		done < <(ns_objects)
		if ((${#nsl[@]} > 0)); then
			echo "namespaces: ${nsl[*]}"
		else
			echo "namespaces: none"
		fi
	else
		echo "namespaces: ndctl not installed"
	fi
	while read -r dev_ m fst; do
		[[ -n "$m" ]] || continue
		rc=0
		verdict="$(probe_dir "$m")" || rc=$?
		echo "DAX mount:  $dev_ on $m ($fst): $verdict"
		((rc != 0)) || found=1
	done < <(dax_mounts)
	((found)) || echo "DAX mounts: none verified"
	if [[ -d /dev/shm ]]; then
		rc=0
		verdict="$(probe_dir /dev/shm)" || rc=$?
		echo "/dev/shm:   $(df -Ph /dev/shm | awk 'NR == 2 {print $4 " free of " $2}'); $verdict"
	fi
	echo
	print_list "Notes:" "${notes[@]}"
	if ((found)); then
		echo "Verdict: a DAX filesystem is mounted and MAP_SYNC works: daxkv can use it as pmem."
		return 0
	fi
	print_list "memmap-emulated pmem is not possible here:" "${blockers[@]}"
	if ((${#blockers[@]} == 0)); then
		echo "Verdict: no DAX mount.  Set one up with: plan, install, reboot, setup."
	else
		echo "Verdict: no DAX mount, and none can be set up on this machine."
	fi
	print_fallback
	return 3
}

# ---- arguments -----------------------------------------------------------------------

orig_args=("$@")
while (($# > 0)); do
	case "$1" in
	plan | install | setup | check) cmd="$1" ;;
	--size=*) size_arg="${1#*=}" ;;
	--offset=*) offset_arg="${1#*=}" ;;
	--mount=*) mount_point="${1#*=}" ;;
	--fs=*) fs="${1#*=}" ;;
	--dev=*) dev="${1#*=}" ;;
	--namespace=*) ns="${1#*=}" ;;
	--yes | -y) yes=1 ;;
	-h | --help | help) usage; exit 0 ;;
	*) echo "pmem-emulate: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ "$mount_point" == /* ]] || { echo "pmem-emulate: --mount needs an absolute path" >&2; exit 2; }
sz="$(parse_size "$size_arg")" || { echo "pmem-emulate: bad --size '$size_arg'" >&2; exit 2; }
((sz >= (128 << 20) && sz % (128 << 20) == 0)) ||
	{ echo "pmem-emulate: --size must be a multiple of 128M (the kernel's memory section size)" >&2; exit 2; }
if [[ -n "$offset_arg" ]] && ! parse_size "$offset_arg" >/dev/null; then
	echo "pmem-emulate: bad --offset '$offset_arg'" >&2
	exit 2
fi

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	"cmd_$cmd"
fi
