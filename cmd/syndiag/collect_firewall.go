package main

// collectFirewall is the part of the script that records the firewall's
// counters before and after the capture, a file for each tool and time:
// iptables-before.txt, ip6tables-after.txt, nft-before.txt. Package
// flows/evidence reads them (firewall.go) and gives each rule's change
// between the two snapshots: a DROP rule that counted the capture's
// unanswered SYNs names their cause.
//
// iptables -L -v -n -x prints exact counts (-x) without resolving names
// (-n). iptables-legacy loads its kernel module to list a table that is
// not loaded, so it lists only when /proc/net/ip_tables_names names one;
// iptables-nft lists the nft tables, whose rules nft list ruleset shows
// too. ip6tables is listed only when it has a rule: a listing of chain
// policies alone is the same text as iptables', and would be read as one
// snapshot of the same ruleset.
const collectFirewall = `{{define "firewall"}}
# The firewall's counters before and after the capture, a file for each tool:
# iptables and ip6tables -L -v -n -x (exact counts), nft list ruleset.
firewall() {
	fw_iptables iptables ip_tables_names "$1"
	fw_iptables ip6tables ip6_tables_names "$1"
	fw_nft "$1"
}

# fw_missing says once, before the capture, why a listing is not taken.
fw_missing() {
	if [ "$1" = before ]; then missing "$2"; fi
}

# fw_iptables TOOL PROC-NAMES WHEN lists the tables of iptables or ip6tables.
fw_iptables() {
	local tool="$1" when="$3" rc version
	if ! have "$tool"; then
		fw_missing "$when" "$tool -L: $tool is not installed"
		return
	fi
	version="$(bounded "$tool" -V 2>/dev/null)"
	case "$version" in
	*nf_tables*) ;;
	*)
		if [ ! -s "/proc/net/$2" ]; then
			fw_missing "$when" "$tool -L: no $tool table is loaded (/proc/net/$2 is empty, and listing one would load it)"
			return
		fi
		;;
	esac
	if [ "$tool" = ip6tables ]; then
		bounded ip6tables -S >"$tmp/rules" 2>"$tmp/err"
		rc=$?
		if [ "$rc" != 0 ]; then
			fw_missing "$when" "ip6tables -L: $(failure "$rc")"
			return
		fi
		if ! grep -q '^-A ' "$tmp/rules"; then
			fw_missing "$when" "ip6tables -L: no rule, only chain policies (which syndiag would take for iptables')"
			return
		fi
	fi
	take "$tool-$when.txt" "$tool -L -v -n -x" "$tool" -L -v -n -x || return
	case "$when $version" in
	"before "*nf_tables*) have nft && readme "# $tool is $version: its rules show in nft list ruleset too, with the same counters." ;;
	esac
}

# fw_nft WHEN lists the nft ruleset, when it has a table.
fw_nft() {
	local when="$1" rc
	if ! have nft; then
		fw_missing "$when" "nft list ruleset: nft is not installed"
		return
	fi
	bounded nft list tables >"$tmp/tables" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		fw_missing "$when" "nft list ruleset: $(failure "$rc")"
		return
	fi
	if [ ! -s "$tmp/tables" ]; then
		fw_missing "$when" "nft list ruleset: no nft table"
		return
	fi
	take "nft-$when.txt" "nft list ruleset" nft list ruleset
}
{{end}}`
