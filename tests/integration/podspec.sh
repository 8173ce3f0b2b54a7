#!/bin/bash
# artifactfs-podspec: every handed task definition (tests/cases/real/ and
# the seed) becomes, in both modes and both formats, a Pod that validates
# against the Kubernetes schema and is wired as docs/kubernetes.md says
# (tests/validate-pod.js); what cannot be translated is named on stderr;
# names, secrets, probes and user ids come through; bad input gets the
# lines `artifactfs check` prints, exit 2; deploy/examples is what the
# generator writes today.

source "$(dirname "$0")/../lib.sh"

CASES=$T_ROOT/tests/cases
EXAMPLES=$T_ROOT/deploy/examples

if [ ! -x "$T_PODSPEC" ]; then
	t_fail "artifactfs-podspec is built ($T_PODSPEC)"
	t_end
fi
if [ ! -d "$T_ROOT/tests/node_modules/kubernetes-models" ] ||
	[ ! -d "$T_ROOT/tests/node_modules/yaml" ]; then
	t_fail "npm packages installed in tests/ (tools/install-deps)"
	t_end
fi

# validate OUT TASK MODE FORMAT [ERR]: runs the validator, shows why not.
validate()
{
	local out=$1 task=$2 mode=$3 fmt=$4 err=${5:-} r
	r=$(node "$T_ROOT/tests/validate-pod.js" --task "$task" --mode "$mode" \
		--format "$fmt" ${err:+--stderr "$err"} "$out" 2>&1)
	if [ "$r" = valid ]; then
		return 0
	fi
	printf '%s\n' "$r" | sed 's/^/# /'
	return 1
}

# js EXPR FILE: prints the value of EXPR, a JavaScript expression over
# `docs` (the documents of the YAML stream FILE) and `pod`.
js()
{
	node -e '
const YAML = require("yaml");
const docs = YAML.parseAllDocuments(require("fs").readFileSync(
	process.argv[2], "utf8")).map(d => d.toJS());
const pod = docs.find(d => d.kind === "Pod");
const v = eval(process.argv[1]);
console.log(typeof v === "string" ? v : JSON.stringify(v));
' "$1" "$2" 2>&1
}

cd "$T_ROOT/tests" || exit 1

# --- every handed task definition, both modes, both formats ---

for f in "$CASES"/real/*.json "$CASES/seed-task-definition.json"; do
	name=$(basename "$f" .json)
	for mode in sidecar init; do
		for fmt in yaml json; do
			out=$T_DIR/$name.$mode.$fmt
			what="$name: --mode $mode --format $fmt"
			"$T_PODSPEC" --mode "$mode" --format "$fmt" "$f" \
				>"$out" 2>"$out.err"
			rc=$?
			if [ $rc != 0 ]; then
				t_fail "$what: exit $rc"
				sed 's/^/# /' "$out.err"
				continue
			fi
			t_check "$what: validates and is wired" \
				validate "$out" "$f" "$mode" "$fmt" "$out.err"
		done
	done
done

# The validator can fail: each broken wiring is caught.
seed_out=$T_DIR/seed-task-definition.sidecar.yaml
seed=$CASES/seed-task-definition.json
broken()
{
	local what=$1 expr=$2
	sed "$expr" "$seed_out" >"$T_DIR/broken.yaml"
	if cmp -s "$seed_out" "$T_DIR/broken.yaml"; then
		t_fail "validator catches $what: the edit changed nothing"
	elif validate "$T_DIR/broken.yaml" "$seed" sidecar yaml >/dev/null; then
		t_fail "validator catches $what"
	else
		t_ok "validator catches $what"
	fi
}
broken "a sidecar that is not native" '/restartPolicy: Always/d'
broken "an unprivileged sidecar" 's/privileged: true/privileged: false/'
broken "a sidecar mount without Bidirectional" \
	's/mountPropagation: Bidirectional/mountPropagation: HostToContainer/'
broken "an app mount without HostToContainer" \
	'/^  containers:/,$ s/mountPropagation: HostToContainer/mountPropagation: None/'
broken "a writable /artifacts" \
	'/^  containers:/,$ s/readOnly: true/readOnly: false/'
broken "a sidecar without startup probe" 's/startupProbe:/readinessProbe:/'
broken "a bad propagation value" 's/Bidirectional/Sideways/'
broken "a bad container name" 's/- name: webapp$/- name: Web_App/'
broken "a missing label" '/kecs.dev\/task-family/d'

# --- what cannot be translated is named ---

err=$T_DIR/service-with-secrets--task_def.sidecar.yaml.err
t_check "logConfiguration named in a warning" \
	grep -q "container 'app': 'logConfiguration' (awslogs) not translated" \
	"$err"
t_check "requiresCompatibilities named in a warning" \
	grep -q "'requiresCompatibilities' not translated" "$err"
err=$T_DIR/nginx-with-log-generator--task_def.sidecar.yaml.err
t_check "essential false named in a warning" \
	grep -q "container 'log-generator': essential false" "$err"
err=$T_DIR/seed-task-definition.sidecar.yaml.err
t_check "a 0600 artifact without a numeric user is named" \
	grep -q "artifact 'ssl-key' (0600)" "$err"

# --- translations the schema does not see ---

out=$T_DIR/service-with-secrets--task_def.sidecar.yaml
t_check "ssm secret as a secretKeyRef" [ "$(js '
	pod.spec.containers[0].env.find(e => e.name === "DATABASE_URL")
	.valueFrom.secretKeyRef' "$out")" = \
	'{"name":"kecs-secret-myapp-prod-database-url","key":"value"}' ]
t_check "secrets manager secret as a secretKeyRef" [ "$(js '
	pod.spec.containers[0].env.find(e => e.name === "JWT_SECRET")
	.valueFrom.secretKeyRef' "$out")" = \
	'{"name":"kecs-secret-myapp-prod-jwt","key":"value"}' ]
t_check "no secret value in the output" \
	bash -c "! grep -qi 'arn:aws:secretsmanager' '$out'"

out=$T_DIR/service-to-service-communication--backend-task-def.sidecar.yaml
t_check "healthCheck as liveness probe with its timings" [ "$(js '
	pod.spec.containers[0].livenessProbe' "$out")" = \
	'{"exec":{"command":["/bin/sh","-c","wget -q --spider http://localhost:8080/health || exit 1"]},"periodSeconds":30,"timeoutSeconds":5,"failureThreshold":3}' ]
t_check "startPeriod as startup probe (60 s at 30 s, then 3 tries)" \
	[ "$(js 'pod.spec.containers[0].startupProbe.failureThreshold' \
	"$out")" = 5 ]
t_check "cpu 256 units as 250m, request and limit" [ "$(js '
	pod.spec.containers[0].resources' "$out")" = \
	'{"requests":{"cpu":"250m","memory":"512Mi"},"limits":{"cpu":"250m","memory":"512Mi"}}' ]

out=$T_DIR/task-definition-with-artifacts.sidecar.yaml
t_check "host volume as a hostPath" [ "$(js '
	pod.spec.volumes.find(v => v.name === "app-data")' "$out")" = \
	'{"name":"app-data","hostPath":{"path":"/tmp/app-data"}}' ]
t_check "KECS labels" [ "$(js 'pod.metadata.labels' "$out")" = \
	'{"kecs.dev/task-family":"webapp-with-artifacts","kecs.dev/managed-by":"artifactfs-podspec"}' ]

out=$T_DIR/single-task-nginx--task_def.sidecar
t_check "a task without artifacts gives a plain Pod (yaml)" \
	[ "$(js 'docs.map(d => d.kind + (d.spec && d.spec.initContainers ? "+init" : ""))' \
	"$out.yaml")" = '["Pod"]' ]
t_check "a task without artifacts gives a Pod object (json)" \
	[ "$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).kind' \
	"$out.json")" = Pod ]
t_check "a task with artifacts gives a List in json" \
	[ "$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).items.map(i => i.kind).join()' \
	"$T_DIR/seed-task-definition.sidecar.json")" = ConfigMap,Pod ]

# --- names, users and several containers with artifacts ---

cat >"$T_DIR/names.json" <<'JSON'
{
  "taskDefinition": {
    "family": "Names_Test",
    "revision": 7,
    "containerDefinitions": [
      { "name": "Log_Shipper", "image": "busybox", "user": "1000:2000",
        "artifacts": [ { "name": "k", "artifactUrl": "http://127.0.0.1:9/k",
                         "targetPath": "k", "permissions": "0600" } ] },
      { "name": "log-shipper", "image": "busybox", "user": "33",
        "artifacts": [ { "name": "k", "artifactUrl": "s3://bucket/k",
                         "targetPath": "k" } ] },
      { "name": "artifactfs", "image": "busybox" },
      { "name": "A_Container_Name_Much_Longer_Than_Sixty_Three_Characters_In_All_x",
        "image": "busybox", "user": "nginx",
        "artifacts": [ { "name": "z", "artifactUrl": "http://127.0.0.1:9/z",
                         "targetPath": "z" } ] }
    ]
  }
}
JSON
for mode in sidecar init; do
	out=$T_DIR/names.$mode.yaml
	"$T_PODSPEC" --mode "$mode" --name names-pod --namespace team-a \
		"$T_DIR/names.json" >"$out" 2>"$out.err"
	t_check "names ($mode): exit 0" [ $? = 0 ]
	t_check "names ($mode): validates and is wired" \
		validate "$out" "$T_DIR/names.json" "$mode" yaml "$out.err"
	t_check "names ($mode): DNS-1123, unique, at most 63" [ "$(js '
		pod.spec.containers.map(c => c.name).join()' "$out")" = \
		log-shipper,log-shipper-2,artifactfs-2,a-container-name-much-longer-than-sixty-three-characters-in-all ]
	t_check "names ($mode): --name and --namespace" [ "$(js '
		docs.map(d => d.metadata.namespace + "/" + d.metadata.name).join()' \
		"$out")" = team-a/names-pod-artifacts,team-a/names-pod ]
	t_check "names ($mode): revision label" [ "$(js '
		pod.metadata.labels["kecs.dev/task-revision"]' "$out")" = 7 ]
	t_check "names ($mode): a named user is warned about" \
		grep -q "user 'nginx' not translated" "$out.err"
done
out=$T_DIR/names.sidecar.yaml
t_check "sidecar: one mount per container, with its ECS name and uid" \
	[ "$(js 'pod.spec.initContainers[0].command.slice(6).join(" ")' \
	"$out")" = "Log_Shipper /mnt/artifacts/log-shipper uid=1000,gid=2000 log-shipper /mnt/artifacts/log-shipper-2 uid=33 A_Container_Name_Much_Longer_Than_Sixty_Three_Characters_In_All_x /mnt/artifacts/a-container-name-much-longer-than-sixty-three-characters-in-all " ]
t_check "sidecar: S3 credentials from an optional Secret, no literal" \
	[ "$(js 'JSON.stringify(pod.spec.initContainers[0].envFrom) +
		!pod.spec.initContainers[0].env' "$out")" = \
	'[{"secretRef":{"name":"artifactfs-aws","optional":true}}]true' ]
out=$T_DIR/names.init.yaml
t_check "init: fetchers run as the container's user" [ "$(js '
	pod.spec.initContainers.map(c => c.name + ":" +
	c.securityContext.runAsUser + ":" + c.securityContext.runAsGroup)
	.join()' "$out")" = \
	"fetch-log-shipper:1000:2000,fetch-log-shipper-2:33:undefined,fetch-a-container-name-much-longer-than-sixty-three-characters:undefined:undefined" ]
t_check "init: fetchers drop every capability" [ "$(js '
	pod.spec.initContainers.every(c =>
	c.securityContext.capabilities.drop.join() === "ALL" &&
	c.securityContext.allowPrivilegeEscalation === false)' "$out")" = true ]

# Standard input, and the shape of a single container definition.
t_check "TASKDEF '-' reads stdin" bash -c \
	"'$T_PODSPEC' - <'$seed' 2>/dev/null | cmp -s - '$seed_out'"
node -e '
const td = JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log(JSON.stringify(td.containerDefinitions[0]));' "$seed" \
	>"$T_DIR/one-container.json"
"$T_PODSPEC" "$T_DIR/one-container.json" >"$T_DIR/one-container.yaml" \
	2>"$T_DIR/one-container.err"
t_check "a single container definition gives a Pod" \
	validate "$T_DIR/one-container.yaml" "$T_DIR/one-container.json" \
	sidecar yaml
t_check "--help exits 0" bash -c "'$T_PODSPEC' --help >/dev/null"
t_check "--version names the tool" bash -c \
	"'$T_PODSPEC' --version | grep -q '^artifactfs-podspec [0-9]'"

# --- bad input: the lines of artifactfs check, exit 2, nothing written ---

# refused INPUT WHAT PATTERN: exit 2, stdout empty, stderr matching.
refused()
{
	local input=$1 what=$2 pattern=$3 rc
	shift 3
	"$T_PODSPEC" "$@" "$input" >"$T_DIR/bad.out" 2>"$T_DIR/bad.err"
	rc=$?
	if [ $rc = 2 ] && [ ! -s "$T_DIR/bad.out" ] &&
		grep -q -- "$pattern" "$T_DIR/bad.err"; then
		t_ok "refused: $what"
	else
		t_fail "refused: $what (exit $rc)"
		sed 's/^/# /' "$T_DIR/bad.err"
	fi
}
printf '{"containerDefinitions": [' >"$T_DIR/bad-json.json"
refused "$T_DIR/bad-json.json" "invalid JSON" "not valid JSON"
printf '[{"name":"a","artifactUrl":"http://h/a","targetPath":"a"}]' \
	>"$T_DIR/bare.json"
refused "$T_DIR/bare.json" "a bare list of artifacts" "bare list"
printf '{"containerDefinitions":[{"name":"a"}]}' >"$T_DIR/noimage.json"
refused "$T_DIR/noimage.json" "a container without image" \
	"container 'a': image: missing"
printf '%s' '{"containerDefinitions":[{"name":"a","image":"i",
 "mountPoints":[{"sourceVolume":"v","containerPath":"/d"}]}]}' \
	>"$T_DIR/novol.json"
refused "$T_DIR/novol.json" "a mount point without its volume" \
	"sourceVolume: 'v' is not a volume"
printf '%s' '{"volumes":[{"name":"v"}],"containerDefinitions":[{"name":"a",
 "image":"i","mountPoints":[{"sourceVolume":"v","containerPath":"/artifacts"}],
 "artifacts":[{"name":"x","artifactUrl":"http://h/x","targetPath":"x"}]}]}' \
	>"$T_DIR/clash.json"
refused "$T_DIR/clash.json" "a mount point on /artifacts" \
	"/artifacts is where the artifacts go"
printf '%s' '{"containerDefinitions":[{"name":"a","image":"i"},
 {"name":"a","image":"j"}]}' >"$T_DIR/twice.json"
refused "$T_DIR/twice.json" "two containers of one name" \
	"also the name of container #1"
refused "$seed" "an unknown mode" "not a valid value" --mode daemon
refused "$seed" "a name that is no DNS-1123 label" "DNS-1123" --name Bad_Name
refused "$T_DIR/missing.json" "a missing file" "cannot read"

# Every refused case of tests/cases/manifests.json, inside a container
# when it is a bare list, gets exactly the lines of `artifactfs check`.
node -e '
const fs = require("fs");
const cases = JSON.parse(fs.readFileSync(process.argv[1]));
cases.forEach((c, i) => {
	let m = c.manifest;
	if (Array.isArray(m))
		m = { family: "case", containerDefinitions: [
			{ name: "app", image: "busybox", artifacts: m } ] };
	const arts = (m.containerDefinitions || []).some(d =>
		d.artifacts !== undefined && !(Array.isArray(d.artifacts) &&
		d.artifacts.length === 0));
	const kind = c.expect === "accept" ? "accept" :
		(arts ? "refuse" : "plain");
	fs.writeFileSync(`${process.argv[2]}/case-${i}.json`, JSON.stringify(m));
	console.log(`${i} ${kind} ${c.case}`);
});' "$CASES/manifests.json" "$T_DIR" >"$T_DIR/cases.list"
t_check "the manifest cases are all there" \
	[ "$(wc -l <"$T_DIR/cases.list")" -ge 20 ]
if [ ! -x "$T_BIN" ]; then
	t_fail "artifactfs is built ($T_BIN), to compare with check"
fi
while read -r i kind what; do
	f=$T_DIR/case-$i.json
	"$T_PODSPEC" "$f" >"$f.out" 2>"$f.err"
	rc=$?
	case $kind in
	accept)
		t_check "case '$what': a Pod" validate "$f.out" "$f" sidecar yaml
		;;
	plain)
		t_check "case '$what': no artifacts, a plain Pod" \
			validate "$f.out" "$f" sidecar yaml
		;;
	refuse)
		[ -x "$T_BIN" ] || continue
		"$T_BIN" check "$f" >/dev/null 2>"$f.check"
		if [ $rc = 2 ] && [ ! -s "$f.out" ] && [ -s "$f.err" ] &&
			cmp -s "$f.err" "$f.check"; then
			t_ok "case '$what': refused with check's lines"
		else
			t_fail "case '$what': refused with check's lines (exit $rc)"
			diff "$f.check" "$f.err" | sed 's/^/# /'
		fi
		;;
	esac
done <"$T_DIR/cases.list"

# --- deploy/examples is what the generator writes today ---

t_check "the example task definition is the seed's" \
	cmp -s "$EXAMPLES/task-definition.json" "$seed"
# Secrets written into an artifact's URL travel in the ConfigMap: said.
cat >"$T_DIR/userinfo.json" <<'JSON'
{ "family": "f", "containerDefinitions": [ { "name": "c", "image": "i",
  "artifacts": [
    { "name": "with-password", "targetPath": "a",
      "artifactUrl": "https://user:hunter2@127.0.0.1/a" },
    { "name": "plain", "targetPath": "b",
      "artifactUrl": "https://127.0.0.1/b@c" } ] } ] }
JSON
"$T_PODSPEC" "$T_DIR/userinfo.json" >/dev/null 2>"$T_DIR/userinfo.err"
t_check "a URL with a password is warned about" \
	grep -q "artifact 'with-password': its URL carries a user name or password" \
		"$T_DIR/userinfo.err"
t_check "an '@' in a path is not" \
	bash -c "! grep -q \"artifact 'plain': its URL carries\" '$T_DIR/userinfo.err'"

for mode in sidecar init; do
	want=$EXAMPLES/pod.yaml
	[ $mode = init ] && want=$EXAMPLES/pod-init.yaml
	"$T_PODSPEC" --mode $mode "$EXAMPLES/task-definition.json" \
		>"$T_DIR/example.$mode.yaml" 2>/dev/null
	if diff -u "$want" "$T_DIR/example.$mode.yaml" >"$T_DIR/example.diff"
	then
		t_ok "deploy/examples/$(basename "$want") regenerates unchanged"
	else
		t_fail "deploy/examples/$(basename "$want") regenerates unchanged"
		sed 's/^/# /' "$T_DIR/example.diff"
	fi
done

t_end
