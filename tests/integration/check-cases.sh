#!/bin/bash
# `artifactfs check` on every handed case: tests/cases/manifests.json (each
# accepted with exactly its tree, or refused naming the artifact and every
# word the case mentions), the seed's task definition, and the real task
# definitions of tests/cases/real (accepted when they declare artifacts,
# refused otherwise).  Each case also runs under strace: check must open
# no network socket.

. "$(dirname "$0")/../lib.sh"

CASES=$T_ROOT/tests/cases

if ! command -v strace >/dev/null; then
	t_fail "check-cases needs strace to prove that check stays offline"
	t_end
fi
if [ ! -x "$T_BIN" ]; then
	t_fail "no artifactfs binary at $T_BIN"
	t_end
fi

# Splits the cases into one directory each: manifest.json, expect, tree
# ("MODE<TAB>PATH" lines, bytewise sorted by path), mentions (one word a line),
# names (the names of the manifest's artifacts) and title.
split_cases()
{
	node - "$@" <<'EOF'
const fs = require('fs');
const path = require('path');
const [src, out, kind] = process.argv.slice(2);

function artifactsOf(m) {
	if (Array.isArray(m))
		return m;
	const td = m.taskDefinition || m;
	const defs = td.containerDefinitions || [td];
	const lists = defs.filter((c) => Array.isArray(c.artifacts) &&
					 c.artifacts.length > 0);
	return lists.length === 1 ? lists[0].artifacts : [];
}

function treeOf(m) {
	return artifactsOf(m).map((a) => {
		const p = a.targetPath.split('/')
			.filter((c) => c !== '' && c !== '.').join('/');
		return (a.permissions || '0644').padStart(4, '0') + '\t' + p;
	});
}

function write(dir, c) {
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'manifest.json'),
			 c.raw !== undefined ? c.raw : JSON.stringify(c.manifest));
	fs.writeFileSync(path.join(dir, 'title'), c.title + '\n');
	fs.writeFileSync(path.join(dir, 'expect'), c.expect + '\n');
	const lines = (l) => l.length ? l.join('\n') + '\n' : '';
	const key = (l) => Buffer.from(l.split('\t')[1]);
	const sorted = (c.tree || []).slice().sort((a, b) =>
		Buffer.compare(key(a), key(b)));
	fs.writeFileSync(path.join(dir, 'tree'), lines(sorted));
	fs.writeFileSync(path.join(dir, 'mentions'), lines(c.mentions || []));
	const names = artifactsOf(c.manifest).filter((a) => a && a.name)
		.map((a) => a.name);
	fs.writeFileSync(path.join(dir, 'names'), lines(names));
}

if (kind === 'cases') {
	JSON.parse(fs.readFileSync(src)).forEach((c, i) => {
		write(path.join(out, 'case-' + String(i).padStart(3, '0')), {
			title: c.case, manifest: c.manifest, expect: c.expect,
			mentions: c.mentions,
			tree: (c.tree || []).map((t) => t[1] + '\t' + t[0]),
		});
	});
} else {
	const raw = fs.readFileSync(src, 'utf8');
	const m = JSON.parse(raw);
	const tree = treeOf(m);
	write(out, {
		title: path.basename(src), manifest: m, raw: raw,
		expect: tree.length ? 'accept' : 'refuse', tree: tree,
		mentions: tree.length ? [] : ['artifacts'],
	});
}
EOF
}

# offline DIR: passes when the traced run in DIR opened no network socket.
offline()
{
	! grep -Eq 'AF_INET|AF_INET6|connect\(' "$1/trace"
}

# run_case DIR: runs check on DIR/manifest.json; one ok/not ok line.
run_case()
{
	local dir=$1 title expect rc word name why=""
	title=$(cat "$dir/title")
	expect=$(cat "$dir/expect")

	"$T_BIN" check "$dir/manifest.json" >"$dir/out" 2>"$dir/err"
	rc=$?
	# A second, traced run for the sockets: LeakSanitizer cannot work
	# under ptrace, so it is off for that run only.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -e trace=socket,connect -o "$dir/trace" \
		"$T_BIN" check "$dir/manifest.json" >/dev/null 2>&1
	offline "$dir" || why="$why; touched the network"

	if [ "$expect" = accept ]; then
		[ "$rc" = 0 ] || why="$why; exit $rc: $(head -c 300 "$dir/err")"
		[ -s "$dir/err" ] && why="$why; wrote to stderr"
		cut -f1,2 "$dir/out" >"$dir/got-tree"
		cmp -s "$dir/got-tree" "$dir/tree" ||
			why="$why; tree differs: $(diff "$dir/tree" "$dir/got-tree" | tr '\n' ' ')"
		awk -F'\t' 'NF != 4 { exit 1 }' "$dir/out" ||
			why="$why; a line without four fields"
	else
		[ "$rc" = 2 ] || why="$why; exit $rc, not 2"
		[ -s "$dir/out" ] && why="$why; printed a tree"
		[ -s "$dir/err" ] || why="$why; no fault line"
		while IFS= read -r word; do
			grep -qF -- "$word" "$dir/err" ||
				why="$why; no mention of '$word'"
		done <"$dir/mentions"
		# one named artifact: the fault must name it
		if [ "$(wc -l <"$dir/names")" = 1 ]; then
			name=$(cat "$dir/names")
			grep -qF -- "'$name'" "$dir/err" ||
				why="$why; artifact '$name' not named"
		fi
	fi
	if [ -z "$why" ]; then
		t_ok "check: $title"
	else
		t_fail "check: $title${why/#;/:}"
	fi
}

if ! split_cases "$CASES/manifests.json" "$T_DIR" cases; then
	t_fail "check: cannot split tests/cases/manifests.json"
	t_end
fi
ncases=0
for dir in "$T_DIR"/case-*; do
	run_case "$dir"
	ncases=$((ncases + 1))
done
[ "$ncases" -gt 0 ] || t_fail "check: no case found in manifests.json"

# The seed: four files, each line exactly mode, path, source and "-".
split_cases "$CASES/seed-task-definition.json" "$T_DIR/seed" file &&
	run_case "$T_DIR/seed"
expected=$(node -e '
	const m = require(process.argv[1]);
	const arts = m.containerDefinitions[0].artifacts.slice().sort((a, b) =>
		Buffer.compare(Buffer.from(a.targetPath),
			       Buffer.from(b.targetPath)));
	console.log(arts.map((a) => [a.permissions, a.targetPath,
				     a.artifactUrl, "-"].join("\t"))
		.join("\n"));' "$CASES/seed-task-definition.json")
if [ "$(wc -l <"$T_DIR/seed/out")" = 4 ] &&
	[ "$(cat "$T_DIR/seed/out")" = "$expected" ]; then
	t_ok "check: the seed lists its four files, sorted, with their sources"
else
	t_fail "check: the seed's listing is not the four declared files"
fi

# The real task definitions: the one with artifacts accepted, the others
# refused for having none.
naccepted=0
for f in "$CASES"/real/*.json; do
	dir=$T_DIR/real-$(basename "$f" .json)
	if ! split_cases "$f" "$dir" file; then
		t_fail "check: cannot read $(basename "$f")"
		continue
	fi
	[ "$(cat "$dir/expect")" = accept ] && naccepted=$((naccepted + 1))
	run_case "$dir"
done
t_check "check: exactly one real task definition declares artifacts" \
	test "$naccepted" = 1

t_end
