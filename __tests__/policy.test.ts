import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeOutput } from '../synth/output';
import { checkObjects } from '../policy/check';
import { parseCheckArgs, runCheck } from '../policy/cli';
import { loadPaths, loadTexts } from '../policy/load';
import { ENGINE_RULES, RULES } from '../policy/rules';
import { literalSecret } from '../policy/rules/secrets';
import type { ExternalDeclarations, Finding, Json, SourceObject } from '../policy/types';
import { kustomize } from './support/kubectl';
import { configsUnderTest, PROJECT_ROOT, render } from './support/render';

const FIXTURES = path.join(__dirname, 'fixtures', 'policy');
const COMPLIANT = path.join(FIXTURES, 'compliant.yaml');

/** The compliant fixture as fresh objects, for one test to break. */
function compliant(): SourceObject[] {
  return loadPaths([COMPLIANT]).objects.map((o) => ({ ...o, manifest: structuredClone(o.manifest) }));
}

class Fixture {
  constructor(readonly objects: SourceObject[]) {}
  get(kind: string, name: string): Json {
    const o = this.objects.find((x) => x.manifest.kind === kind && x.manifest.metadata.name === name);
    if (!o) throw new Error(`fixture has no ${kind} ${name}`);
    return o.manifest;
  }
  remove(kind: string, name: string): void {
    const i = this.objects.findIndex((x) => x.manifest.kind === kind && x.manifest.metadata.name === name);
    this.objects.splice(i, 1);
  }
  add(manifest: Json): void {
    this.objects.push({ file: 'inline.yaml', doc: this.objects.length, manifest });
  }
  get web(): Json {
    return this.get('Deployment', 'web');
  }
  get pod(): Json {
    return this.web.spec.template.spec;
  }
  get main(): Json {
    return this.pod.containers[0];
  }
  get init(): Json {
    return this.pod.initContainers[0];
  }
}

function check(mutate: (f: Fixture) => void, external?: ExternalDeclarations): Finding[] {
  const f = new Fixture(compliant());
  mutate(f);
  return checkObjects(f.objects, { external });
}

const POD = 'spec.template.spec';
const MAIN = `${POD}.containers[0]`;
const INIT = `${POD}.initContainers[0]`;

interface Case {
  readonly rule: string;
  readonly why: string;
  readonly mutate: (f: Fixture) => void;
  /** Object the finding is on, `Kind/name`. */
  readonly object: string;
  readonly path: string;
}

const bareJob = (name: string, spec: Json = {}): Json => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'app' },
  spec: { ...spec, template: structuredClone(compliant().find((o) => o.manifest.kind === 'CronJob')!.manifest.spec.jobTemplate.spec.template) },
});

const CASES: Case[] = [
  // Pod Security Standards
  {
    rule: 'pss.host-process',
    why: 'a Windows HostProcess pod',
    mutate: (f) => (f.pod.securityContext.windowsOptions = { hostProcess: true }),
    object: 'Deployment/web',
    path: `${POD}.securityContext.windowsOptions.hostProcess`,
  },
  {
    rule: 'pss.host-process',
    why: 'a Windows HostProcess container',
    mutate: (f) => (f.main.securityContext.windowsOptions = { hostProcess: true }),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.windowsOptions.hostProcess`,
  },
  { rule: 'pss.host-namespaces', why: 'hostNetwork', mutate: (f) => (f.pod.hostNetwork = true), object: 'Deployment/web', path: `${POD}.hostNetwork` },
  { rule: 'pss.host-namespaces', why: 'hostPID', mutate: (f) => (f.pod.hostPID = true), object: 'Deployment/web', path: `${POD}.hostPID` },
  { rule: 'pss.host-namespaces', why: 'hostIPC', mutate: (f) => (f.pod.hostIPC = true), object: 'Deployment/web', path: `${POD}.hostIPC` },
  {
    rule: 'pss.privileged',
    why: 'a privileged container',
    mutate: (f) => (f.main.securityContext.privileged = true),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.privileged`,
  },
  {
    rule: 'pss.capabilities',
    why: 'an added SYS_ADMIN',
    mutate: (f) => (f.main.securityContext.capabilities.add = ['NET_BIND_SERVICE', 'SYS_ADMIN']),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.capabilities.add[1]`,
  },
  {
    rule: 'pss.capabilities',
    why: 'an init container that does not drop ALL',
    mutate: (f) => (f.init.securityContext.capabilities = { drop: ['NET_RAW'] }),
    object: 'Deployment/web',
    path: `${INIT}.securityContext.capabilities.drop`,
  },
  {
    rule: 'pss.volume-types',
    why: 'a hostPath volume',
    mutate: (f) => f.pod.volumes.push({ name: 'host', hostPath: { path: '/var/run' } }),
    object: 'Deployment/web',
    path: `${POD}.volumes[2].hostPath`,
  },
  {
    rule: 'pss.volume-types',
    why: 'an nfs volume',
    mutate: (f) => f.pod.volumes.push({ name: 'share', nfs: { server: 'nfs', path: '/' } }),
    object: 'Deployment/web',
    path: `${POD}.volumes[2].nfs`,
  },
  { rule: 'pss.host-ports', why: 'a hostPort', mutate: (f) => (f.main.ports[0].hostPort = 8080), object: 'Deployment/web', path: `${MAIN}.ports[0].hostPort` },
  {
    rule: 'pss.apparmor',
    why: 'an unconfined AppArmor annotation',
    mutate: (f) => (f.web.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/web': 'unconfined' }),
    object: 'Deployment/web',
    path: 'spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/web',
  },
  {
    rule: 'pss.apparmor',
    why: 'an Unconfined AppArmor field',
    mutate: (f) => (f.main.securityContext.appArmorProfile = { type: 'Unconfined' }),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.appArmorProfile.type`,
  },
  {
    rule: 'pss.selinux',
    why: 'a privileged SELinux type',
    mutate: (f) => (f.pod.securityContext.seLinuxOptions = { type: 'spc_t' }),
    object: 'Deployment/web',
    path: `${POD}.securityContext.seLinuxOptions.type`,
  },
  {
    rule: 'pss.selinux',
    why: 'an SELinux user',
    mutate: (f) => (f.main.securityContext.seLinuxOptions = { user: 'system_u' }),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.seLinuxOptions.user`,
  },
  {
    rule: 'pss.proc-mount',
    why: 'an Unmasked procMount',
    mutate: (f) => (f.main.securityContext.procMount = 'Unmasked'),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.procMount`,
  },
  {
    rule: 'pss.seccomp',
    why: 'no seccomp at pod or container level',
    mutate: (f) => delete f.pod.securityContext.seccompProfile,
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.seccompProfile.type`,
  },
  {
    rule: 'pss.seccomp',
    why: 'an Unconfined container despite the pod default',
    mutate: (f) => (f.init.securityContext.seccompProfile = { type: 'Unconfined' }),
    object: 'Deployment/web',
    path: `${INIT}.securityContext.seccompProfile.type`,
  },
  {
    rule: 'pss.seccomp',
    why: 'an Unconfined pod',
    mutate: (f) => (f.pod.securityContext.seccompProfile = { type: 'Unconfined' }),
    object: 'Deployment/web',
    path: `${POD}.securityContext.seccompProfile.type`,
  },
  {
    rule: 'pss.sysctls',
    why: 'an unsafe sysctl',
    mutate: (f) => (f.pod.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]),
    object: 'Deployment/web',
    path: `${POD}.securityContext.sysctls[0].name`,
  },
  {
    rule: 'pss.host-probes',
    why: 'a probe against another host',
    mutate: (f) => (f.main.readinessProbe.httpGet.host = '10.0.0.1'),
    object: 'Deployment/web',
    path: `${MAIN}.readinessProbe.httpGet.host`,
  },
  {
    rule: 'pss.allow-privilege-escalation',
    why: 'allowPrivilegeEscalation left unset',
    mutate: (f) => delete f.init.securityContext.allowPrivilegeEscalation,
    object: 'Deployment/web',
    path: `${INIT}.securityContext.allowPrivilegeEscalation`,
  },
  {
    rule: 'pss.run-as-non-root',
    why: 'runAsNonRoot set nowhere',
    mutate: (f) => delete f.pod.securityContext.runAsNonRoot,
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.runAsNonRoot`,
  },
  {
    rule: 'pss.run-as-non-root',
    why: 'a container overriding it with false',
    mutate: (f) => (f.init.securityContext.runAsNonRoot = false),
    object: 'Deployment/web',
    path: `${INIT}.securityContext.runAsNonRoot`,
  },
  {
    rule: 'pss.run-as-user',
    why: 'uid 0 in a container',
    mutate: (f) => (f.main.securityContext.runAsUser = 0),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.runAsUser`,
  },
  {
    rule: 'pss.run-as-user',
    why: 'uid 0 for the pod',
    mutate: (f) => (f.pod.securityContext.runAsUser = 0),
    object: 'Deployment/web',
    path: `${POD}.securityContext.runAsUser`,
  },
  // Containers
  {
    rule: 'resources.cpu-memory',
    why: 'no CPU limit',
    mutate: (f) => delete f.main.resources.limits.cpu,
    object: 'Deployment/web',
    path: `${MAIN}.resources.limits.cpu`,
  },
  {
    rule: 'resources.cpu-memory',
    why: 'an init container without memory request',
    mutate: (f) => delete f.init.resources.requests.memory,
    object: 'Deployment/web',
    path: `${INIT}.resources.requests.memory`,
  },
  {
    rule: 'resources.ephemeral-storage',
    why: 'no ephemeral-storage request',
    mutate: (f) => delete f.main.resources.requests['ephemeral-storage'],
    object: 'Deployment/web',
    path: `${MAIN}.resources.requests.ephemeral-storage`,
  },
  {
    rule: 'image.tag',
    why: 'the latest tag',
    mutate: (f) => (f.main.image = 'registry.example.com/web:latest'),
    object: 'Deployment/web',
    path: `${MAIN}.image`,
  },
  {
    rule: 'image.tag',
    why: 'no tag behind a registry port',
    mutate: (f) => (f.init.image = 'registry.example.com:5000/web'),
    object: 'Deployment/web',
    path: `${INIT}.image`,
  },
  {
    rule: 'security.read-only-root-fs',
    why: 'a writable root filesystem',
    mutate: (f) => (f.main.securityContext.readOnlyRootFilesystem = false),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.readOnlyRootFilesystem`,
  },
  {
    rule: 'security.user-group-id',
    why: 'no runAsUser anywhere',
    mutate: (f) => delete f.pod.securityContext.runAsUser,
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.runAsUser`,
  },
  {
    rule: 'security.user-group-id',
    why: 'group 0',
    mutate: (f) => (f.main.securityContext.runAsGroup = 0),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.runAsGroup`,
  },
  {
    rule: 'security.high-uid',
    why: 'a uid below 10000',
    mutate: (f) => (f.pod.securityContext.runAsUser = 1000),
    object: 'Deployment/web',
    path: `${MAIN}.securityContext.runAsUser`,
  },
  {
    rule: 'security.automount-token',
    why: 'a token mounted through the ServiceAccount default',
    mutate: (f) => {
      delete f.pod.automountServiceAccountToken;
      delete f.get('ServiceAccount', 'web').automountServiceAccountToken;
    },
    object: 'Deployment/web',
    path: `${POD}.automountServiceAccountToken`,
  },
  {
    rule: 'security.automount-token',
    why: 'a pod asking for the token',
    mutate: (f) => (f.pod.automountServiceAccountToken = true),
    object: 'Deployment/web',
    path: `${POD}.automountServiceAccountToken`,
  },
  { rule: 'probes.readiness', why: 'no readinessProbe', mutate: (f) => delete f.main.readinessProbe, object: 'Deployment/web', path: `${MAIN}.readinessProbe` },
  { rule: 'probes.liveness', why: 'no livenessProbe', mutate: (f) => delete f.main.livenessProbe, object: 'Deployment/web', path: `${MAIN}.livenessProbe` },
  {
    rule: 'probes.identical',
    why: 'liveness equal to readiness',
    mutate: (f) => (f.main.livenessProbe = structuredClone(f.main.readinessProbe)),
    object: 'Deployment/web',
    path: `${MAIN}.livenessProbe`,
  },
  {
    rule: 'probes.port',
    why: 'a probe on an undeclared port name',
    mutate: (f) => (f.main.livenessProbe.httpGet.port = 'admin'),
    object: 'Deployment/web',
    path: `${MAIN}.livenessProbe.httpGet.port`,
  },
  {
    rule: 'env.duplicate',
    why: 'a variable defined twice',
    mutate: (f) => f.main.env.push({ name: 'LOG_LEVEL', value: 'debug' }),
    object: 'Deployment/web',
    path: `${MAIN}.env[3].name`,
  },
  {
    rule: 'workload.selector-labels',
    why: 'a selector that misses the template',
    mutate: (f) => (f.web.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'other' }),
    object: 'Deployment/web',
    path: 'spec.selector',
  },
  { rule: 'job.ttl', why: 'a Job never cleaned up', mutate: (f) => f.add(bareJob('once')), object: 'Job/once', path: 'spec.ttlSecondsAfterFinished' },
  {
    rule: 'cronjob.deadline',
    why: 'a CronJob without deadline',
    mutate: (f) => delete f.get('CronJob', 'nightly').spec.startingDeadlineSeconds,
    object: 'CronJob/nightly',
    path: 'spec.startingDeadlineSeconds',
  },
  // Availability
  {
    rule: 'availability.pdb',
    why: 'two replicas without PDB',
    mutate: (f) => f.remove('PodDisruptionBudget', 'web'),
    object: 'Deployment/web',
    path: 'spec.replicas',
  },
  {
    rule: 'availability.pdb-allows-drain',
    why: 'minAvailable equal to the HPA minimum',
    mutate: (f) => {
      const spec = f.get('PodDisruptionBudget', 'web').spec;
      delete spec.maxUnavailable;
      spec.minAvailable = 2;
    },
    object: 'PodDisruptionBudget/web',
    path: 'spec.minAvailable',
  },
  {
    rule: 'availability.pdb-allows-drain',
    why: 'maxUnavailable 0',
    mutate: (f) => (f.get('PodDisruptionBudget', 'web').spec.maxUnavailable = 0),
    object: 'PodDisruptionBudget/web',
    path: 'spec.maxUnavailable',
  },
  {
    rule: 'availability.pdb-allows-drain',
    why: 'minAvailable 1 on a single replica',
    mutate: (f) =>
      f.add({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'db', namespace: 'app' },
        spec: { minAvailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: { 'app.kubernetes.io/name': 'db' } } },
      }),
    object: 'PodDisruptionBudget/db',
    path: 'spec.minAvailable',
  },
  {
    rule: 'availability.pdb-policy',
    why: 'a PDB with no budget',
    mutate: (f) => delete f.get('PodDisruptionBudget', 'web').spec.maxUnavailable,
    object: 'PodDisruptionBudget/web',
    path: 'spec',
  },
  {
    rule: 'availability.pdb-eviction-policy',
    why: 'no unhealthyPodEvictionPolicy',
    mutate: (f) => delete f.get('PodDisruptionBudget', 'web').spec.unhealthyPodEvictionPolicy,
    object: 'PodDisruptionBudget/web',
    path: 'spec.unhealthyPodEvictionPolicy',
  },
  {
    rule: 'availability.pdb-targets-pod',
    why: 'a PDB selecting nothing',
    mutate: (f) => (f.get('PodDisruptionBudget', 'web').spec.selector.matchLabels = { 'app.kubernetes.io/name': 'gone' }),
    object: 'PodDisruptionBudget/web',
    path: 'spec.selector',
  },
  {
    rule: 'availability.spread',
    why: 'two replicas without spread',
    mutate: (f) => delete f.pod.topologySpreadConstraints,
    object: 'Deployment/web',
    path: `${POD}.topologySpreadConstraints`,
  },
  // Network
  {
    rule: 'network.policy-coverage',
    why: 'no egress policy for the pods',
    mutate: (f) => f.remove('NetworkPolicy', 'default-deny'),
    object: 'Deployment/web',
    path: 'spec.template.metadata.labels',
  },
  {
    rule: 'network.policy-targets-pod',
    why: 'a policy selecting nothing',
    mutate: (f) => (f.get('NetworkPolicy', 'web-ingress').spec.podSelector.matchLabels = { 'app.kubernetes.io/name': 'gone' }),
    object: 'NetworkPolicy/web-ingress',
    path: 'spec.podSelector',
  },
  {
    rule: 'service.selector',
    why: 'a dangling Service',
    mutate: (f) => (f.get('Service', 'web').spec.selector = { 'app.kubernetes.io/name': 'gone' }),
    object: 'Service/web',
    path: 'spec.selector',
  },
  {
    rule: 'service.target-port',
    why: 'an undeclared targetPort name',
    mutate: (f) => (f.get('Service', 'web').spec.ports[0].targetPort = 'web'),
    object: 'Service/web',
    path: 'spec.ports[0].targetPort',
  },
  {
    rule: 'service.node-port',
    why: 'a NodePort Service',
    mutate: (f) => (f.get('Service', 'web').spec.type = 'NodePort'),
    object: 'Service/web',
    path: 'spec.type',
  },
  {
    rule: 'ingress.tls',
    why: 'an Ingress without certificate',
    mutate: (f) => delete f.get('Ingress', 'web').metadata.annotations,
    object: 'Ingress/web',
    path: 'spec.tls',
  },
  // References
  {
    rule: 'objects.namespace',
    why: 'an object without namespace',
    mutate: (f) => delete f.get('ConfigMap', 'web-config').metadata.namespace,
    object: 'ConfigMap/web-config',
    path: 'metadata.namespace',
  },
  {
    rule: 'references.namespace',
    why: 'a namespace not in the set',
    mutate: (f) => f.remove('Namespace', 'app'),
    object: 'Deployment/web',
    path: 'metadata.namespace',
  },
  {
    rule: 'references.configmap',
    why: 'a missing ConfigMap',
    mutate: (f) => f.remove('ConfigMap', 'web-config'),
    object: 'Deployment/web',
    path: `${MAIN}.env[0].valueFrom.configMapKeyRef.name`,
  },
  {
    rule: 'references.configmap-key',
    why: 'a missing ConfigMap key',
    mutate: (f) => (f.main.env[0].valueFrom.configMapKeyRef.key = 'LEVEL'),
    object: 'Deployment/web',
    path: `${MAIN}.env[0].valueFrom.configMapKeyRef.key`,
  },
  {
    rule: 'references.secret',
    why: 'an undeclared out-of-band Secret',
    mutate: (f) => delete f.web.metadata.annotations,
    object: 'Deployment/web',
    path: `${MAIN}.env[1].valueFrom.secretKeyRef.name`,
  },
  {
    rule: 'references.pvc',
    why: 'a missing claim',
    mutate: (f) => f.remove('PersistentVolumeClaim', 'web-data'),
    object: 'Deployment/web',
    path: `${POD}.volumes[1].persistentVolumeClaim.claimName`,
  },
  {
    rule: 'references.service-account',
    why: 'a missing ServiceAccount',
    mutate: (f) => f.remove('ServiceAccount', 'web'),
    object: 'Deployment/web',
    path: `${POD}.serviceAccountName`,
  },
  {
    rule: 'references.statefulset-service',
    why: 'a governing Service that is not headless',
    mutate: (f) => delete f.get('Service', 'db').spec.clusterIP,
    object: 'StatefulSet/db',
    path: 'spec.serviceName',
  },
  {
    rule: 'references.statefulset-service',
    why: 'a missing governing Service',
    mutate: (f) => f.remove('Service', 'db'),
    object: 'StatefulSet/db',
    path: 'spec.serviceName',
  },
  {
    rule: 'references.ingress-service',
    why: 'a backend Service not in the set',
    mutate: (f) => (f.get('Ingress', 'web').spec.defaultBackend.service.name = 'gone'),
    object: 'Ingress/web',
    path: 'spec.defaultBackend.service.name',
  },
  {
    rule: 'references.scale-target',
    why: 'an HPA target not in the set',
    mutate: (f) => (f.get('HorizontalPodAutoscaler', 'web').spec.scaleTargetRef.name = 'gone'),
    object: 'HorizontalPodAutoscaler/web',
    path: 'spec.scaleTargetRef.name',
  },
  // Secrets
  {
    rule: 'secrets.no-values',
    why: 'a Secret with data',
    mutate: (f) => f.add({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak', namespace: 'app' }, data: { password: 'aHVudGVyMg==' } }),
    object: 'Secret/leak',
    path: 'data',
  },
  {
    rule: 'secrets.env-literal',
    why: 'a literal token',
    mutate: (f) => f.main.env.push({ name: 'API_TOKEN', value: 'abc123' }),
    object: 'Deployment/web',
    path: `${MAIN}.env[3].value`,
  },
  {
    rule: 'secrets.env-literal',
    why: 'a URL with a literal password',
    mutate: (f) => (f.main.env[2].value = 'postgresql://web:hunter2@db:5432/web'),
    object: 'Deployment/web',
    path: `${MAIN}.env[2].value`,
  },
  {
    rule: 'secrets.env-literal',
    why: 'a password in the arguments',
    mutate: (f) => (f.main.args = ['--db', 'postgresql://web:hunter2@db/web']),
    object: 'Deployment/web',
    path: `${MAIN}.args[1]`,
  },
  {
    rule: 'secrets.configmap-content',
    why: 'a password in a ConfigMap',
    mutate: (f) => (f.get('ConfigMap', 'web-config').data.DB_PASSWORD = 'hunter2'),
    object: 'ConfigMap/web-config',
    path: 'data.DB_PASSWORD',
  },
  // API versions
  {
    rule: 'api.removed',
    why: 'policy/v1beta1 PodDisruptionBudget',
    mutate: (f) => (f.get('PodDisruptionBudget', 'web').apiVersion = 'policy/v1beta1'),
    object: 'PodDisruptionBudget/web',
    path: 'apiVersion',
  },
  {
    rule: 'api.removed',
    why: 'batch/v1beta1 CronJob',
    mutate: (f) => (f.get('CronJob', 'nightly').apiVersion = 'batch/v1beta1'),
    object: 'CronJob/nightly',
    path: 'apiVersion',
  },
  {
    rule: 'api.removed',
    why: 'autoscaling/v2beta2',
    mutate: (f) => (f.get('HorizontalPodAutoscaler', 'web').apiVersion = 'autoscaling/v2beta2'),
    object: 'HorizontalPodAutoscaler/web',
    path: 'apiVersion',
  },
  { rule: 'api.removed', why: 'extensions/v1beta1', mutate: (f) => (f.web.apiVersion = 'extensions/v1beta1'), object: 'Deployment/web', path: 'apiVersion' },
  // Engine
  {
    rule: 'policy.exemption',
    why: 'an exemption without reason',
    mutate: (f) => (f.get('Service', 'web').metadata.annotations = { 'policy.mlflow-gke.io/exempt.service.node-port': ' ' }),
    object: 'Service/web',
    path: 'metadata.annotations.policy.mlflow-gke.io/exempt.service.node-port',
  },
  {
    rule: 'policy.exemption',
    why: 'an exemption from an unknown rule',
    mutate: (f) => (f.get('Service', 'web').metadata.annotations = { 'policy.mlflow-gke.io/exempt.no-such-rule': 'because' }),
    object: 'Service/web',
    path: 'metadata.annotations.policy.mlflow-gke.io/exempt.no-such-rule',
  },
];

const ruleById = new Map([...RULES, ...ENGINE_RULES].map((r) => [r.id, r]));
const at = (f: Finding) => `${f.kind}/${f.name} ${f.path}`;

describe('policy rules', () => {
  test('the compliant fixture passes every rule without a warning', () => {
    expect(checkObjects(compliant()).map((f) => `${f.rule} ${at(f)}: ${f.message}`)).toEqual([]);
  });

  test.each(CASES.map((c) => [c.rule, c.why, c]))('%s fires on %s', (_rule, _why, c) => {
    const findings = check(c.mutate).filter((f) => f.rule === c.rule);
    expect(findings.map(at)).toContain(`${c.object} ${c.path}`);
    expect(findings.every((f) => f.severity === ruleById.get(c.rule)!.severity)).toBe(true);
    expect(findings.every((f) => f.message && f.fix)).toBe(true);
  });

  test('every rule has a violating fixture above, and input.invalid is covered by the loader tests', () => {
    const covered = new Set([...CASES.map((c) => c.rule), 'input.invalid']);
    expect([...ruleById.keys()].filter((id) => !covered.has(id))).toEqual([]);
  });

  test('rule ids are unique, and an exemption key built from each is a valid annotation name', () => {
    const ids = [...RULES, ...ENGINE_RULES].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(`exempt.${id}`).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  });
});

describe('Pod Security restricted over every pod-bearing kind and container list', () => {
  const template = () => structuredClone(compliant().find((o) => o.manifest.kind === 'Deployment')!.manifest.spec.template);
  const shapes: [string, (t: Json) => Json, string][] = [
    ['Pod', (t) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { ...t.metadata, name: 'x', namespace: 'app' }, spec: t.spec }), 'spec'],
    [
      'Deployment',
      (t) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x', namespace: 'app' },
        spec: { selector: { matchLabels: t.metadata.labels }, template: t },
      }),
      POD,
    ],
    [
      'StatefulSet',
      (t) => ({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'x', namespace: 'app' },
        spec: { selector: { matchLabels: t.metadata.labels }, template: t },
      }),
      POD,
    ],
    [
      'DaemonSet',
      (t) => ({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'x', namespace: 'app' },
        spec: { selector: { matchLabels: t.metadata.labels }, template: t },
      }),
      POD,
    ],
    [
      'ReplicaSet',
      (t) => ({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'x', namespace: 'app' },
        spec: { selector: { matchLabels: t.metadata.labels }, template: t },
      }),
      POD,
    ],
    ['Job', (t) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x', namespace: 'app' }, spec: { template: t } }), POD],
    [
      'CronJob',
      (t) => ({
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'x', namespace: 'app' },
        spec: { schedule: '@daily', jobTemplate: { spec: { template: t } } },
      }),
      'spec.jobTemplate.spec.template.spec',
    ],
  ];

  test.each(shapes)('%s: privileged containers, init containers and ephemeral containers are all caught', (_kind, wrap, specPath) => {
    const t = template();
    t.spec.containers[0].securityContext.privileged = true;
    t.spec.initContainers[0].securityContext.privileged = true;
    t.spec.ephemeralContainers = [{ name: 'debug', image: 'busybox:1.36', securityContext: { privileged: true } }];
    const findings = checkObjects([{ file: 'x.yaml', doc: 0, manifest: wrap(t) }]);
    const paths = (rule: string) => findings.filter((f) => f.rule === rule).map((f) => f.path);
    expect(paths('pss.privileged')).toEqual(
      expect.arrayContaining([
        `${specPath}.containers[0].securityContext.privileged`,
        `${specPath}.initContainers[0].securityContext.privileged`,
        `${specPath}.ephemeralContainers[0].securityContext.privileged`,
      ]),
    );
    // An ephemeral container with no securityContext fails the restricted container checks too.
    expect(paths('pss.allow-privilege-escalation')).toContain(`${specPath}.ephemeralContainers[0].securityContext.allowPrivilegeEscalation`);
    expect(paths('pss.capabilities')).toContain(`${specPath}.ephemeralContainers[0].securityContext.capabilities.drop`);
  });

  test('runAsNonRoot on every container satisfies the check without a pod-level value, as PSA evaluates it', () => {
    const findings = check((f) => {
      delete f.pod.securityContext.runAsNonRoot;
      f.main.securityContext.runAsNonRoot = true;
      f.init.securityContext.runAsNonRoot = true;
    });
    expect(findings.filter((x) => x.rule === 'pss.run-as-non-root')).toEqual([]);
  });

  test('seccomp on every container satisfies the check without a pod-level profile', () => {
    const findings = check((f) => {
      delete f.pod.securityContext.seccompProfile;
      f.main.securityContext.seccompProfile = { type: 'RuntimeDefault' };
      f.init.securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'p.json' };
    });
    expect(findings.filter((x) => x.rule === 'pss.seccomp')).toEqual([]);
  });

  test('NET_BIND_SERVICE may be added, csi/ephemeral/projected volumes are allowed, safe sysctls pass', () => {
    const findings = check((f) => {
      f.main.securityContext.capabilities.add = ['NET_BIND_SERVICE'];
      f.pod.volumes.push(
        { name: 'c', csi: { driver: 'x' } },
        { name: 'e', ephemeral: { volumeClaimTemplate: { spec: {} } } },
        { name: 'p', projected: { sources: [] } },
      );
      f.pod.securityContext.sysctls = [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }];
    });
    expect(findings.filter((x) => x.rule.startsWith('pss.'))).toEqual([]);
  });
});

describe('cross-object rules', () => {
  test('a PDB is not required at one replica, and maxUnavailable 1 never blocks a drain', () => {
    const findings = check((f) => {
      f.get('HorizontalPodAutoscaler', 'web').spec.minReplicas = 1;
      f.remove('PodDisruptionBudget', 'web');
    });
    expect(findings.filter((x) => x.rule.startsWith('availability.'))).toEqual([]);
  });

  test('the HPA minimum, not spec.replicas, decides whether a workload is replicated', () => {
    const findings = check((f) => {
      f.web.spec.replicas = 1;
      f.remove('PodDisruptionBudget', 'web');
    });
    expect(findings.filter((x) => x.rule === 'availability.pdb').map(at)).toEqual(['Deployment/web spec.replicas']);
  });

  test('NetworkPolicies of another namespace do not cover a pod', () => {
    const findings = check((f) => {
      f.get('NetworkPolicy', 'default-deny').metadata.namespace = 'other';
      f.add({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    });
    expect(findings.filter((x) => x.rule === 'network.policy-coverage').map((x) => `${at(x)} ${x.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Deployment\/web .*egress/), expect.stringMatching(/^StatefulSet\/db .*ingress/)]),
    );
  });

  test('policyTypes default to Ingress, plus Egress when egress rules exist', () => {
    const findings = check((f) => {
      const deny = f.get('NetworkPolicy', 'default-deny');
      delete deny.spec.policyTypes;
      deny.spec.egress = [];
    });
    expect(findings.filter((x) => x.rule === 'network.policy-coverage')).toEqual([]);
  });

  test('matchExpressions selectors are honoured', () => {
    const findings = check((f) => {
      f.get('PodDisruptionBudget', 'web').spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['web', 'api'] }] };
    });
    expect(findings.filter((x) => x.rule.startsWith('availability.'))).toEqual([]);
  });
});

describe('external declarations', () => {
  const withoutCm = (f: Fixture) => f.remove('ConfigMap', 'web-config');

  test('--external Kind/namespace/name resolves a missing ConfigMap; * matches any name', () => {
    expect(check(withoutCm).filter((f) => f.rule === 'references.configmap')).toHaveLength(1);
    expect(check(withoutCm, { objects: ['ConfigMap/app/web-config'] }).filter((f) => f.rule === 'references.configmap')).toEqual([]);
    expect(check(withoutCm, { objects: ['ConfigMap/app/*'] }).filter((f) => f.rule === 'references.configmap')).toEqual([]);
    expect(check(withoutCm, { objects: ['ConfigMap/other/web-config'] }).filter((f) => f.rule === 'references.configmap')).toHaveLength(1);
  });

  // trust-manager v0.24.0: a Bundle writes a ConfigMap (and a Secret, with a secret target) named after
  // itself in every namespace its target.namespaceSelector selects.
  test('a ConfigMap that a trust-manager Bundle writes into the namespace resolves; one for another namespace does not', () => {
    const bundle = (values: string[]) => ({
      apiVersion: 'trust.cert-manager.io/v1alpha1',
      kind: 'Bundle',
      metadata: { name: 'web-config' },
      spec: {
        sources: [{ secret: { name: 'ca', key: 'tls.crt' } }],
        target: { configMap: { key: 'LOG_LEVEL' }, namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values }] } },
      },
    });
    const configMapFindings = (values: string[]) =>
      check((f) => {
        withoutCm(f);
        f.add(bundle(values));
      }).filter((x) => x.rule === 'references.configmap');
    expect(configMapFindings(['app'])).toEqual([]);
    expect(configMapFindings(['other'])).toHaveLength(1);
  });

  test('an external namespace resolves objects placed in it', () => {
    const drop = (f: Fixture) => f.remove('Namespace', 'app');
    expect(check(drop).filter((f) => f.rule === 'references.namespace').length).toBeGreaterThan(0);
    expect(check(drop, { namespaces: ['app'] }).filter((f) => f.rule === 'references.namespace')).toEqual([]);
  });

  test('an undeclared Secret is a warning only; the annotation or --external silences it', () => {
    const undeclared = check((f) => delete f.web.metadata.annotations).filter((f) => f.rule === 'references.secret');
    expect(undeclared.map((f) => f.severity)).toEqual(['warning']);
    expect(check((f) => delete f.web.metadata.annotations, { objects: ['Secret/app/web-credentials'] }).filter((f) => f.rule === 'references.secret')).toEqual(
      [],
    );
    expect(
      check((f) => (f.web.metadata.annotations['policy.mlflow-gke.io/external-secrets'] = 'other, web-credentials')).filter(
        (f) => f.rule === 'references.secret',
      ),
    ).toEqual([]);
  });

  test('optional references need not resolve', () => {
    const findings = check((f) => {
      f.remove('ConfigMap', 'web-config');
      f.main.env[0].valueFrom.configMapKeyRef.optional = true;
    });
    expect(findings.filter((x) => x.rule.startsWith('references.'))).toEqual([]);
  });
});

describe('exemptions', () => {
  test('an exemption with a reason removes exactly that rule on exactly that object', () => {
    const findings = check((f) => {
      f.get('Service', 'web').spec.type = 'NodePort';
      f.get('Service', 'web').metadata.annotations = { 'policy.mlflow-gke.io/exempt.service.node-port': 'legacy load balancer health checks need it' };
      f.get('Service', 'db').spec.type = 'NodePort';
      delete f.get('Service', 'db').spec.clusterIP;
    });
    expect(findings.filter((x) => x.rule === 'service.node-port').map(at)).toEqual(['Service/db spec.type']);
    expect(findings.filter((x) => x.rule === 'policy.exemption')).toEqual([]);
  });

  test('an exemption without a reason is an error and exempts nothing', () => {
    const findings = check((f) => {
      f.main.securityContext.privileged = true;
      f.web.metadata.annotations['policy.mlflow-gke.io/exempt.pss.privileged'] = '';
    });
    expect(findings.filter((x) => x.rule === 'policy.exemption').map((x) => x.message)).toEqual(['exemption from pss.privileged gives no reason']);
    expect(findings.filter((x) => x.rule === 'pss.privileged')).toHaveLength(1);
  });
});

describe('secret-like literals', () => {
  test.each([
    ['DB_PASSWORD', 'hunter2', true],
    ['JUPYTER_TOKEN', 'abc', true],
    ['GOOGLE_APPLICATION_CREDENTIALS', '/var/secrets/key.json', false],
    ['PASSWORD_FILE', 'pw', false],
    ['TOKEN_ENABLED', 'x', false],
    ['DB_PASSWORD', '$(PGPASSWORD)', false],
    ['DB_PASSWORD', '', false],
    ['LOG_LEVEL', 'info', false],
    ['BACKEND', 'postgresql://u:p4ss@db/x', true],
    ['BACKEND', 'postgresql://u:$(DB_PASSWORD)@db/x', false],
    ['BACKEND', 'postgresql://u@db/x', false],
    ['CERT', '-----BEGIN RSA PRIVATE KEY-----\nMII...', true],
  ])('%s=%j is flagged: %s', (name, value, flagged) => {
    expect(literalSecret(name, value) !== undefined).toBe(flagged);
  });
});

describe('loading input', () => {
  test('directories are read recursively (*.yaml, *.yml), Kustomize descriptors skipped, Lists unpacked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-load-'));
    try {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# empty\n');
      fs.writeFileSync(
        path.join(dir, 'sub', 'b.yml'),
        'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n  - {apiVersion: v1, kind: Namespace, metadata: {name: c}}\n',
      );
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n');
      fs.writeFileSync(path.join(dir, 'README.md'), '# not yaml\n');
      const loaded = loadPaths([dir]);
      expect(loaded.objects.map((o) => o.manifest.metadata.name)).toEqual(['a', 'b', 'c']);
      expect(loaded.problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('invalid YAML and non-objects are input.invalid errors with file and document', () => {
    const loaded = loadTexts([
      { file: 'bad.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkey: [unclosed\n---\n- a list\n---\nkind: Thing\n' },
    ]);
    expect(loaded.objects).toHaveLength(1);
    expect(loaded.problems.map((p) => [p.rule, p.severity, p.file, p.doc])).toEqual([
      ['input.invalid', 'error', 'bad.yaml', 1],
      ['input.invalid', 'error', 'bad.yaml', 2],
      ['input.invalid', 'error', 'bad.yaml', 3],
    ]);
    expect(loaded.problems[0].message).toMatch(/^invalid YAML at line 6, column 1: /);
  });
});

describe('npm run check (cli)', () => {
  function run(argv: string[], stdin?: string) {
    let out = '';
    let err = '';
    const code = runCheck(argv, {}, { out: (t) => (out += t), err: (t) => (err += t), stdin: stdin === undefined ? undefined : () => stdin });
    return { code, out, err };
  }
  const broken = () => {
    const f = new Fixture(compliant());
    f.main.image = 'registry.example.com/web:latest';
    f.get('Service', 'web').spec.type = 'NodePort';
    return f.objects.map((o) => `---\n${JSON.stringify(o.manifest)}\n`).join('');
  };

  test('defaults to dist/ and takes flags in both forms', () => {
    expect(parseCheckArgs([])).toMatchObject({ paths: ['dist'], format: 'text' });
    expect(parseCheckArgs(['a', '-', '--format=json', '--external', 'Secret/ns/x,ConfigMap/ns/*', '--external-namespace', 'kube-system'])).toEqual({
      paths: ['a', '-'],
      format: 'json',
      externalObjects: ['Secret/ns/x', 'ConfigMap/ns/*'],
      externalNamespaces: ['kube-system'],
      config: undefined,
      quiet: false,
      verbose: false,
    });
  });

  test('bad usage exits 2 with the allowed values', () => {
    expect(run(['--format', 'xml'])).toMatchObject({ code: 2, err: expect.stringContaining('text or json') });
    expect(run(['--external', 'Secret'])).toMatchObject({ code: 2, err: expect.stringContaining('Kind/namespace/name') });
    expect(run(['--nope'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown argument "--nope"') });
    expect(run(['/no/such/dir'])).toMatchObject({ code: 2, err: expect.stringContaining('/no/such/dir: no such file or directory') });
  });

  test('a passing file exits 0', () => {
    const r = run([COMPLIANT]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/policy check passed: 0 error\(s\), 0 warning\(s\) in 14 object\(s\) from 1 file\(s\)/);
  });

  test('stdin (-): each violation on one line with file, object, path, rule and fix; exit 1 on errors', () => {
    const r = run(['-'], broken());
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      '-#6: Deployment/app/web: spec.template.spec.containers[0].image: error [image.tag] container "web" image registry.example.com/web:latest uses latest (fix: pin a version tag or a digest)',
    );
    expect(r.out).toMatch(/policy check FAILED: 1 error\(s\), 1 warning\(s\)/);
  });

  test('--quiet prints errors only but still counts warnings', () => {
    const r = run(['-', '-q'], broken());
    expect(r.out).toContain('error [image.tag]');
    expect(r.out).not.toContain('warning [');
    expect(r.out).toMatch(/1 error\(s\), 1 warning\(s\)/);
  });

  test('an input without any object exits 2, so a failed kustomize in a pipe never passes', () => {
    expect(run(['-'], '')).toMatchObject({ code: 2, err: expect.stringContaining('no Kubernetes object in -') });
  });

  test('warnings alone exit 0', () => {
    const f = new Fixture(compliant());
    f.get('Service', 'web').spec.type = 'NodePort';
    const r = run(['-'], f.objects.map((o) => `---\n${JSON.stringify(o.manifest)}\n`).join(''));
    expect(r.code).toBe(0);
    expect(r.out).toContain('warning [service.node-port]');
  });

  test('--format json gives the findings and a summary for machines', () => {
    const r = run(['-', '--format', 'json'], broken());
    const doc = JSON.parse(r.out);
    expect(doc.ok).toBe(false);
    expect(doc.summary).toEqual({ errors: 1, warnings: 1, objects: 14, files: 1 });
    expect(doc.findings).toContainEqual({
      rule: 'image.tag',
      severity: 'error',
      file: '-',
      doc: 5,
      kind: 'Deployment',
      namespace: 'app',
      name: 'web',
      path: 'spec.template.spec.containers[0].image',
      message: 'container "web" image registry.example.com/web:latest uses latest',
      fix: 'pin a version tag or a digest',
    });
  });

  test('--config adds the config file namespaces.external as external namespaces', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-config-'));
    try {
      const config = path.join(dir, 'c.yaml');
      fs.writeFileSync(
        config,
        'project: {id: my-project-1, number: "123456789012", region: europe-west1, zones: [europe-west1-b]}\nedge: {enabled: false}\nnamespaces: {external: [shared]}\n',
      );
      const manifest = path.join(dir, 'm.yaml');
      fs.writeFileSync(manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shared}\n');
      expect(run([manifest]).out).toContain('[references.namespace] namespace shared is not in the checked set');
      expect(run([manifest, '--config', config]).code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/policy.md', () => {
  test('lists every rule with its id, severity and sources', () => {
    const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'policy.md'), 'utf8');
    for (const rule of [...RULES, ...ENGINE_RULES]) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${rule.id}\` |`));
      expect(row).toBeDefined();
      expect(row).toContain(`| ${rule.severity} | ${rule.requires.replace(/\|/g, '\\|')} |`);
      for (const source of rule.sources) expect(row).toContain(source);
    }
  });
});

describe('the platform passes its own gate', () => {
  const configs = configsUnderTest();

  test.each(configs.map((c) => [c.name, c.config]))('render of %s: zero errors', (_name, config) => {
    const { files } = render(config);
    const loaded = loadTexts(files.filter((f) => f.path.endsWith('.yaml')).map((f) => ({ file: f.path, text: f.content })));
    expect(loaded.objects.length).toBeGreaterThan(0);
    const findings = [...loaded.problems, ...checkObjects(loaded.objects, { external: { namespaces: config.namespaces.external } })];
    expect(
      findings.filter((f) => f.severity === 'error').map((f) => `${f.file}: ${f.kind}/${f.namespace ?? ''}/${f.name}: ${f.path}: [${f.rule}] ${f.message}`),
    ).toEqual([]);
  });

  test('checking the default render takes well under a second', () => {
    const { files } = render(configs[0].config);
    const texts = files.filter((f) => f.path.endsWith('.yaml')).map((f) => ({ file: f.path, text: f.content }));
    loadTexts(texts); // warm-up: module and JIT, not the gate's own work
    const start = process.hrtime.bigint();
    const loaded = loadTexts(texts);
    checkObjects(loaded.objects);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    expect(ms).toBeLessThan(500);
  });

  const overlaysDir = path.join(PROJECT_ROOT, 'examples', 'overlays');
  const overlays = fs.existsSync(overlaysDir)
    ? fs
        .readdirSync(overlaysDir)
        .filter((d) => fs.existsSync(path.join(overlaysDir, d, 'kustomization.yaml')))
        .sort()
    : [];

  test('there are example overlays to check', () => {
    expect(overlays.length).toBeGreaterThan(0);
  });

  // Each overlay names `../../../dist`; a scratch tree with the same shape points it at a fresh render.
  test.each(overlays)('kubectl kustomize examples/overlays/%s over every config: zero errors', async (overlay) => {
    for (const { name, config } of configs) {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-overlay-'));
      try {
        writeOutput(render(config).files, path.join(root, 'dist'));
        const target = path.join(root, 'examples', 'overlays', overlay);
        fs.cpSync(path.join(overlaysDir, overlay), target, { recursive: true });
        const loaded = loadTexts([{ file: `${overlay}(${name})`, text: await kustomize(target) }]);
        const findings = [...loaded.problems, ...checkObjects(loaded.objects, { external: { namespaces: config.namespaces.external } })];
        expect(
          findings.filter((f) => f.severity === 'error').map((f) => `${name}: ${f.kind}/${f.namespace ?? ''}/${f.name}: ${f.path}: [${f.rule}] ${f.message}`),
        ).toEqual([]);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
  });
});
