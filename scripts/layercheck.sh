#!/usr/bin/env bash
# Fails when a package imports, directly or through any other package, one
# from a layer above it. depguard (.golangci.yml) checks each file's own
# imports; this checks the whole graph as `go list -deps` shows it, for
# each target OS, so a path through an unlisted helper package is caught
# too. Tests are not part of the graph: a test may cross layers.
#
# The layers, lowest first: host < rootpath, winreg, winpath < detect and
# its sources < catalog < report < scan < agent, status < cmd.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-$(scripts/ensure-go.sh)}
m=$("$go" list -m)

# rule: packages (a path under $m, "/..." for the tree) | forbidden prefixes
# (a trailing "$" means exactly that package) | allowed exceptions.
rules=(
	"internal/host/... internal/winreg/... internal/winpath/... internal/rootpath/...|internal/detect internal/catalog internal/report internal/scan internal/agent$ internal/agent/ internal/status internal/collector cmd/|"
	"internal/detect/...|internal/catalog internal/report internal/scan internal/agent$ internal/agent/ internal/status internal/collector cmd/|internal/report/enum"
	"internal/catalog/...|internal/detect/ internal/report internal/scan internal/agent$ internal/agent/ internal/status internal/collector cmd/|internal/report/enum"
	"internal/report/...|internal/scan internal/agent$ internal/agent/ internal/status internal/collector cmd/|"
	"internal/scan/...|internal/agent$ internal/agent/ internal/status internal/collector cmd/|"
	"internal/...|cmd/|"
)

fail=0
for goos in linux windows darwin; do
	for rule in "${rules[@]}"; do
		IFS='|' read -r pkgs deny allow <<<"$rule"
		patterns=()
		for p in $pkgs; do
			# a layer that does not exist yet (before a rename) is skipped
			[ -d "${p%/...}" ] && patterns+=("./$p")
		done
		[ ${#patterns[@]} -gt 0 ] || continue
		# each package with its non-test dependencies (.Deps: what go list -deps
		# lists), one "pkg dep" a line
		while read -r pkg dep; do
			rel=${dep#"$m"/}
			[ "$rel" != "$dep" ] || continue
			for a in $allow; do
				[ "$rel" = "$a" ] && continue 2
			done
			for d in $deny; do
				case $d in
				*\$) [ "$rel" = "${d%\$}" ] || continue ;;
				*) [ "${rel#"$d"}" != "$rel" ] || continue ;;
				esac
				echo "layercheck: GOOS=$goos ${pkg#"$m"/} imports $rel (a layer above it: $d)" >&2
				fail=1
			done
		done < <(GOOS=$goos CGO_ENABLED=0 "$go" list -f '{{$p := .ImportPath}}{{range .Deps}}{{$p}} {{.}}{{"\n"}}{{end}}' "${patterns[@]}" | sort -u)
	done
done
exit $fail
