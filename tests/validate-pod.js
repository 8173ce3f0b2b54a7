#!/usr/bin/env node
// Checks what artifactfs-podspec wrote for a task definition: every
// document against the Kubernetes schema (kubernetes-models), then the
// wiring the schema cannot see: names, labels, the sidecar or the
// fetchers, propagation, read-only mounts, probes, the ConfigMap, no
// credential literals, and that each ECS container came through.
//
// usage: node validate-pod.js --task TASKDEF --mode sidecar|init
//                             [--format yaml|json] [--stderr FILE] OUTPUT
// With --stderr, FILE is what the generator wrote on stderr: every field
// of the task definition that has no Kubernetes translation must be named
// there.  Prints one line per problem and exits 1, or prints "valid" and
// exits 0.
'use strict';

const fs = require('fs');
const YAML = require('yaml');
const { Pod, ConfigMap } = require('kubernetes-models/v1');

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CREDENTIAL_ENV = /^AWS_(SECRET_ACCESS_KEY|SESSION_TOKEN|ACCESS_KEY_ID)$/;
const MANIFEST_KEY = 'task-definition.json';

const problems = [];
function problem(msg) {
  problems.push(msg);
}
function expect(cond, msg) {
  if (!cond) problem(msg);
  return cond;
}

function parseArgs(argv) {
  const o = { format: 'yaml' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (['--task', '--mode', '--format', '--stderr'].includes(a)) {
      o[a.slice(2)] = argv[++i];
    } else if (!o.output) {
      o.output = a;
    } else {
      throw new Error(`unexpected argument '${a}'`);
    }
  }
  if (!o.task || !o.output || !['sidecar', 'init'].includes(o.mode) ||
      !['yaml', 'json'].includes(o.format)) {
    throw new Error('usage: validate-pod.js --task TASKDEF ' +
                    '--mode sidecar|init [--format yaml|json] OUTPUT');
  }
  return o;
}

// The documents in OUTPUT: a YAML stream, or one JSON object (a v1 List
// holds several).
function readDocs(path, format) {
  const text = fs.readFileSync(path, 'utf8');
  let docs;
  if (format === 'json') {
    const top = JSON.parse(text);
    docs = top.kind === 'List' ? top.items : [top];
  } else {
    docs = [];
    for (const d of YAML.parseAllDocuments(text)) {
      if (d.errors.length) throw new Error(`yaml: ${d.errors[0].message}`);
      docs.push(d.toJS());
    }
  }
  return docs;
}

// The container definitions of TASKDEF, whatever its shape.
function readTask(path) {
  let td = JSON.parse(fs.readFileSync(path, 'utf8'));
  if (td.taskDefinition) td = td.taskDefinition;
  if (!td.containerDefinitions) td = { containerDefinitions: [td] };
  return td;
}

function hasArtifacts(def) {
  return Array.isArray(def.artifacts) && def.artifacts.length > 0;
}

function schema(docs) {
  for (const d of docs) {
    try {
      if (d.kind === 'Pod') new Pod(d).validate();
      else if (d.kind === 'ConfigMap') new ConfigMap(d).validate();
      else problem(`unexpected document of kind '${d.kind}'`);
    } catch (e) {
      problem(`${d.kind} '${d.metadata && d.metadata.name}' does not ` +
              `validate: ${e.message}`);
    }
  }
}

function checkLabels(what, meta, td) {
  const labels = (meta && meta.labels) || {};
  for (const [k, v] of Object.entries(labels)) {
    expect(LABEL_VALUE.test(v), `${what}: label ${k}='${v}' is not a ` +
           'valid label value');
  }
  if (td.family) {
    expect(labels['kecs.dev/task-family'], `${what}: no label ` +
           'kecs.dev/task-family');
  }
  expect(labels['kecs.dev/managed-by'] === 'artifactfs-podspec',
         `${what}: no label kecs.dev/managed-by=artifactfs-podspec`);
}

function allContainers(spec) {
  return (spec.initContainers || []).concat(spec.containers || []);
}

function checkNames(pod) {
  const spec = pod.spec;
  expect(LABEL.test(pod.metadata.name), `pod name '${pod.metadata.name}' ` +
         'is not a DNS-1123 label');
  const seen = new Set();
  for (const c of allContainers(spec)) {
    expect(LABEL.test(c.name), `container name '${c.name}' is not a ` +
           'DNS-1123 label');
    expect(!seen.has(c.name), `container name '${c.name}' used twice`);
    seen.add(c.name);
  }
  const vols = new Set();
  for (const v of spec.volumes || []) {
    expect(LABEL.test(v.name), `volume name '${v.name}' is not a ` +
           'DNS-1123 label');
    expect(!vols.has(v.name), `volume name '${v.name}' used twice`);
    vols.add(v.name);
  }
  for (const c of allContainers(spec)) {
    const paths = new Set();
    for (const m of c.volumeMounts || []) {
      expect(vols.has(m.name), `container '${c.name}' mounts volume ` +
             `'${m.name}', which the pod does not declare`);
      expect(!paths.has(m.mountPath), `container '${c.name}' mounts two ` +
             `volumes at ${m.mountPath}`);
      paths.add(m.mountPath);
    }
    for (const p of c.ports || []) {
      if (p.name) expect(p.name.length <= 15, `port name '${p.name}' is ` +
                         'longer than 15');
    }
  }
}

// Our own containers carry no literal environment at all; no container
// carries a credential as a literal.
function checkCredentials(pod) {
  for (const c of pod.spec.initContainers || []) {
    expect(!c.env, `init container '${c.name}' has literal environment`);
    for (const e of c.envFrom || []) {
      expect(e.secretRef && !e.configMapRef, `init container '${c.name}' ` +
             'takes its environment from something else than a Secret');
    }
  }
  for (const c of allContainers(pod.spec)) {
    for (const e of c.env || []) {
      expect(!(CREDENTIAL_ENV.test(e.name) && 'value' in e),
             `container '${c.name}': ${e.name} written as a literal`);
    }
  }
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function probeCommand(hc) {
  const [kind, ...rest] = hc.command;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  if (kind === 'CMD') return rest;
  return hc.command;
}

// Each ECS container, in order, as an app container of the pod.
function checkContainers(pod, td) {
  const defs = td.containerDefinitions;
  const apps = pod.spec.containers || [];
  if (!expect(apps.length === defs.length, `${defs.length} containers ` +
              `declared, ${apps.length} in the pod`)) return;
  const volumes = new Map((pod.spec.volumes || []).map(v => [v.name, v]));
  defs.forEach((d, i) => {
    const c = apps[i];
    const w = `container '${d.name}' (${c.name})`;
    expect(c.image === d.image, `${w}: image '${c.image}', not ` +
           `'${d.image}'`);
    expect(same(c.command, d.entryPoint), `${w}: command is not the ` +
           'entryPoint');
    expect(same(c.args, d.command), `${w}: args are not the command`);
    if (d.workingDirectory) {
      expect(c.workingDir === d.workingDirectory, `${w}: workingDir`);
    }
    const env = new Map((c.env || []).map(e => [e.name, e]));
    for (const e of d.environment || []) {
      const got = env.get(e.name);
      expect(got && got.value === (e.value || ''), `${w}: environment ` +
             `${e.name} lost or changed`);
    }
    for (const s of d.secrets || []) {
      const got = env.get(s.name);
      const ref = got && got.valueFrom && got.valueFrom.secretKeyRef;
      expect(ref && SUBDOMAIN.test(ref.name) && ref.key && !('value' in got),
             `${w}: secret ${s.name} is not a secretKeyRef`);
    }
    for (const p of d.portMappings || []) {
      expect((c.ports || []).some(q => q.containerPort === p.containerPort),
             `${w}: port ${p.containerPort} lost`);
    }
    const res = c.resources || {};
    if (d.cpu) {
      expect(res.requests && res.requests.cpu && res.limits &&
             res.limits.cpu, `${w}: cpu not a request and a limit`);
    }
    if (d.memory) {
      expect(res.limits && res.limits.memory === `${d.memory}Mi`,
             `${w}: memory not a limit of ${d.memory}Mi`);
      expect(res.requests && res.requests.memory, `${w}: no memory request`);
    }
    if (d.healthCheck && d.healthCheck.command[0] !== 'NONE') {
      const want = probeCommand(d.healthCheck);
      for (const k of ['livenessProbe', 'readinessProbe']) {
        expect(c[k] && c[k].exec && same(c[k].exec.command, want),
               `${w}: healthCheck not a ${k}`);
      }
      if (d.healthCheck.startPeriod) {
        expect(c.startupProbe, `${w}: startPeriod not a startupProbe`);
      }
    }
    for (const mp of d.mountPoints || []) {
      const m = (c.volumeMounts || []).find(x => x.mountPath ===
                                            mp.containerPath);
      if (!expect(m, `${w}: mount point ${mp.containerPath} lost`)) continue;
      expect(!!m.readOnly === !!mp.readOnly, `${w}: ${mp.containerPath} ` +
             'readOnly changed');
      const src = (td.volumes || []).find(v => v.name === mp.sourceVolume);
      const vol = volumes.get(m.name);
      if (src && src.host && src.host.sourcePath) {
        expect(vol && vol.hostPath && vol.hostPath.path ===
               src.host.sourcePath, `${w}: volume ${mp.sourceVolume} is ` +
               'not its hostPath');
      }
    }
  });
}

// The app containers' own artifacts volumes: name of app -> volume.
function artifactVolumes(pod, defs, mode) {
  const own = new Map();
  const apps = pod.spec.containers;
  defs.forEach((d, i) => {
    const c = apps[i];
    const mounts = (c.volumeMounts || []).filter(m => m.mountPath ===
                                                 '/artifacts');
    if (!hasArtifacts(d)) {
      expect(mounts.length === 0, `container '${c.name}' declares no ` +
             'artifacts but mounts /artifacts');
      return;
    }
    if (!expect(mounts.length === 1, `container '${c.name}' does not ` +
                'mount /artifacts')) return;
    const m = mounts[0];
    expect(m.readOnly === true, `container '${c.name}': /artifacts not ` +
           'readOnly');
    if (mode === 'sidecar') {
      expect(m.mountPropagation === 'HostToContainer', `container ` +
             `'${c.name}': /artifacts propagation is not HostToContainer`);
    } else {
      expect(!m.mountPropagation, `container '${c.name}': /artifacts has ` +
             'mount propagation in init mode');
    }
    const vol = (pod.spec.volumes || []).find(v => v.name === m.name);
    expect(vol && vol.emptyDir, `container '${c.name}': /artifacts is not ` +
           'an emptyDir');
    expect(![...own.values()].includes(m.name), `container '${c.name}' ` +
           `shares artifacts volume '${m.name}'`);
    own.set(d.name, m.name);
  });
  // No app container sees another's artifacts.
  for (const c of apps) {
    for (const m of c.volumeMounts || []) {
      const owner = [...own.entries()].find(([, v]) => v === m.name);
      if (owner) {
        expect(m.mountPath === '/artifacts', `container '${c.name}' mounts ` +
               `the artifacts of '${owner[0]}'`);
      }
    }
  }
  return own;
}

function configMapManifest(docs, pod, mount, td) {
  const volName = mount && mount.name;
  const vol = (pod.spec.volumes || []).find(v => v.name === volName);
  if (!expect(vol && vol.configMap, 'the manifest volume is not a ' +
              'ConfigMap')) return null;
  const cm = docs.find(d => d.kind === 'ConfigMap' &&
                       d.metadata.name === vol.configMap.name);
  if (!expect(cm, `ConfigMap '${vol.configMap.name}' is not in the ` +
              'stream')) return null;
  expect(docs.indexOf(cm) < docs.indexOf(pod), 'the ConfigMap does not ' +
         'come before the Pod');
  checkLabels('ConfigMap', cm.metadata, td);
  let m;
  try {
    m = JSON.parse(cm.data[MANIFEST_KEY]);
  } catch (e) {
    problem(`ConfigMap key ${MANIFEST_KEY} is not JSON: ${e.message}`);
    return null;
  }
  const want = td.containerDefinitions.filter(hasArtifacts)
    .map(d => ({ name: d.name, artifacts: d.artifacts }));
  expect(same(m.containerDefinitions, want), 'the ConfigMap does not carry ' +
         'exactly the artifact lists');
  return `${mount.mountPath}/${MANIFEST_KEY}`;
}

function checkSidecar(docs, pod, td, own) {
  const inits = pod.spec.initContainers || [];
  const sidecars = inits.filter(c => c.restartPolicy === 'Always');
  if (!expect(sidecars.length === 1 && inits.length === 1, 'not exactly ' +
              'one init container, a native sidecar')) return;
  const s = sidecars[0];
  expect(s.securityContext && s.securityContext.privileged === true,
         'the sidecar is not privileged');
  const manifestMount = (s.volumeMounts || []).find(m => m.readOnly &&
                                                   !m.mountPropagation);
  const manifest = configMapManifest(docs, pod, manifestMount, td);
  const cmd = s.command || [];
  expect(/bash$/.test(cmd[0]) && cmd[1] === '-c', 'the sidecar does not ' +
         'run its script with bash -c');
  const args = cmd.slice(4);
  expect(args[0] === manifest, 'the sidecar does not read the ConfigMap ' +
         'manifest');
  // The cache is the volume itself or a directory inside it.
  const cache = (s.volumeMounts || []).find(m => args[1] === m.mountPath ||
                                            (args[1] || '').startsWith(m.mountPath + '/'));
  const cacheVol = cache && pod.spec.volumes.find(v => v.name === cache.name);
  expect(cacheVol && cacheVol.emptyDir, 'the sidecar has no cache volume');
  const triples = [];
  for (let i = 2; i < args.length; i += 3) {
    triples.push(args.slice(i, i + 3));
  }
  expect(triples.length === own.size, `the sidecar mounts ` +
         `${triples.length} trees for ${own.size} containers`);
  const bidir = (s.volumeMounts || []).filter(m => m.mountPropagation ===
                                             'Bidirectional');
  expect(bidir.length === own.size, 'not one Bidirectional mount per ' +
         'container with artifacts');
  for (const [ecs, vol] of own) {
    const t = triples.find(x => x[0] === ecs);
    if (!expect(t, `the sidecar does not mount the artifacts of '${ecs}'`)) {
      continue;
    }
    const m = bidir.find(x => x.mountPath === t[1]);
    expect(m && m.name === vol, `the sidecar mounts '${ecs}' elsewhere ` +
           'than the volume the container reads');
  }
  const dirs = bidir.map(m => m.mountPath);
  for (const k of ['startupProbe', 'livenessProbe']) {
    const p = s[k];
    const pc = p && p.exec && p.exec.command;
    expect(pc && same(pc.slice(4), dirs), `the sidecar's ${k} does not ` +
           'check every mount');
  }
  for (const c of pod.spec.containers) {
    expect(!(c.volumeMounts || []).some(m => m.mountPropagation ===
                                        'Bidirectional'),
           `app container '${c.name}' has a Bidirectional mount`);
  }
}

function checkFetchers(docs, pod, td, own) {
  const inits = pod.spec.initContainers || [];
  expect(inits.length === own.size, `${inits.length} init containers for ` +
         `${own.size} containers with artifacts`);
  for (const c of allContainers(pod.spec)) {
    const sc = c.securityContext || {};
    expect(!sc.privileged, `container '${c.name}' is privileged in init ` +
           'mode');
    expect(!c.restartPolicy, `container '${c.name}' has a restartPolicy ` +
           'in init mode');
    expect(!(c.volumeMounts || []).some(m => m.mountPropagation),
           `container '${c.name}' has mount propagation in init mode`);
  }
  for (const [ecs, vol] of own) {
    const f = inits.find(c => {
      const cmd = c.command || [];
      const i = cmd.indexOf('--container');
      return cmd[0] === 'artifactfs' && cmd[1] === 'fetch' && i > 0 &&
        cmd[i + 1] === ecs;
    });
    if (!expect(f, `no init container fetches the artifacts of '${ecs}'`)) {
      continue;
    }
    const cmd = f.command;
    const dir = cmd[cmd.length - 1];
    const m = (f.volumeMounts || []).find(x => x.mountPath === dir);
    expect(m && m.name === vol && !m.readOnly, `the fetcher of '${ecs}' ` +
           'does not write into the volume the container reads');
    const manifestMount = (f.volumeMounts || []).find(x => x.readOnly);
    const manifest = configMapManifest(docs, pod, manifestMount, td);
    expect(cmd[cmd.length - 2] === manifest, `the fetcher of '${ecs}' ` +
           'does not read the ConfigMap manifest');
  }
}

// Fields the generator translates; any other field present must be named
// in a warning.
const TASK_TRANSLATED = new Set([
  'family', 'containerDefinitions', 'volumes', 'cpu', 'memory', 'revision',
  'taskDefinitionArn', 'status', 'requiresAttributes', 'compatibilities',
  'registeredAt', 'registeredBy', 'deregisteredAt', 'runtimePlatform',
]);
const CONTAINER_TRANSLATED = new Set([
  'name', 'image', 'entryPoint', 'command', 'environment', 'secrets',
  'portMappings', 'cpu', 'memory', 'memoryReservation', 'workingDirectory',
  'healthCheck', 'mountPoints', 'artifacts', 'privileged',
  'readonlyRootFilesystem', 'interactive', 'pseudoTerminal', 'stopTimeout',
]);

function empty(v) {
  return v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function checkWarnings(td, stderr) {
  const named = key => stderr.includes(key);
  for (const [k, v] of Object.entries(td)) {
    if (empty(v) || TASK_TRANSLATED.has(k)) continue;
    if (k === 'networkMode' && (v === 'awsvpc' || v === 'host')) continue;
    if ((k === 'pidMode' || k === 'ipcMode') && (v === 'host' ||
                                                 v === 'task')) continue;
    expect(named(k), `task definition field ${k} dropped without a warning`);
  }
  for (const d of td.containerDefinitions) {
    for (const [k, v] of Object.entries(d)) {
      if (empty(v) || CONTAINER_TRANSLATED.has(k)) continue;
      if (k === 'essential' && v === true) continue;
      if (k === 'user' && /^[0-9]+(:[0-9]+)?$/.test(v)) continue;
      expect(named(`container '${d.name}'`) && named(k), `container ` +
             `'${d.name}': ${k} dropped without a warning`);
    }
  }
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const td = readTask(o.task);
  const docs = readDocs(o.output, o.format);
  schema(docs);
  const pods = docs.filter(d => d.kind === 'Pod');
  if (!expect(pods.length === 1, `${pods.length} Pods in the output`)) {
    return;
  }
  const pod = pods[0];
  if (o.stderr) checkWarnings(td, fs.readFileSync(o.stderr, 'utf8'));
  checkLabels('Pod', pod.metadata, td);
  checkNames(pod);
  checkCredentials(pod);
  checkContainers(pod, td);
  const defs = td.containerDefinitions;
  const any = defs.some(hasArtifacts);
  const own = artifactVolumes(pod, defs, o.mode);
  if (!any) {
    expect(!pod.spec.initContainers, 'init containers in a pod without ' +
           'artifacts');
    expect(docs.length === 1, 'more than the Pod for a task without ' +
           'artifacts');
    return;
  }
  if (o.mode === 'sidecar') checkSidecar(docs, pod, td, own);
  else checkFetchers(docs, pod, td, own);
}

try {
  main();
} catch (e) {
  problem(e.message);
}
for (const p of problems) console.log(`invalid: ${p}`);
if (problems.length) process.exit(1);
console.log('valid');
