/**
 * The restricted container and pod spec helpers (charts/lib/pod.ts): what they render through the
 * 1.31 typings, that the policy gate and the API schemas accept it, and the invariants they refuse
 * to break.
 */
import { Testing } from 'cdk8s';
import {
  containerResources,
  restrictedContainer,
  RestrictedContainer,
  RestrictedContainerProps,
  restrictedPodSpec,
  RestrictedPodSpecProps,
} from '../charts/lib/pod';
import * as k8s from '../imports/k8s-1.31';
import { checkObjects } from '../policy/check';
import { containerRules } from '../policy/rules/containers';
import { podSecurityRules } from '../policy/rules/pod-security';
import { availableKubernetesVersions, KubernetesValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { testChart } from './support/app';

type Json = Record<string, any>;

const RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };
const RENDERED_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

const container = (props: Partial<RestrictedContainerProps> = {}) =>
  restrictedContainer({ name: 'app', image: 'example.com/app:1.0.0', runAsUser: 1000, runAsGroup: 1000, resources: RESOURCES, ...props });

const proxy = () =>
  restrictedContainer({
    name: 'proxy',
    image: 'example.com/proxy:2.0.0',
    runAsUser: 65532,
    runAsGroup: 65532,
    resources: RESOURCES,
    startupProbe: { httpGet: { path: '/startup', port: k8s.IntOrString.fromNumber(9090) }, periodSeconds: 1 },
    livenessProbe: { httpGet: { path: '/liveness', port: k8s.IntOrString.fromNumber(9090) }, periodSeconds: 60 },
  });

/** The Deployment's manifest as rendered (through the generated toJson). */
function deployment(spec: Partial<RestrictedPodSpecProps> = {}): Json {
  const chart = testChart();
  new k8s.KubeDeployment(chart, 'd', {
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: { labels: { app: 'd' } }, spec: restrictedPodSpec({ runAsUser: 1000, runAsGroup: 1000, containers: [container()], ...spec }) },
    },
  });
  return Testing.synth(chart)[0];
}

const podSpecOf = (d: Json) => d.spec.template.spec;

describe('restrictedContainer', () => {
  test('carries the restricted baseline and the configured resources', () => {
    const [c] = podSpecOf(deployment()).containers;
    expect(c).toEqual({
      name: 'app',
      image: 'example.com/app:1.0.0',
      resources: RENDERED_RESOURCES,
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsGroup: 1000,
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
  });

  test('without its own group the container uses the pod group (no runAsGroup key)', () => {
    const [c] = podSpecOf(deployment({ containers: [container({ runAsGroup: undefined })] })).containers;
    expect(Object.keys(c.securityContext)).not.toContain('runAsGroup');
  });

  test('keeps the other container fields as given', () => {
    const [c] = podSpecOf(
      deployment({ containers: [container({ args: ['--x'], ports: [{ name: 'http', containerPort: 5000 }], workingDir: '/w' })] }),
    ).containers;
    expect(c).toMatchObject({ args: ['--x'], ports: [{ name: 'http', containerPort: 5000 }], workingDir: '/w' });
  });

  test('extended resources such as GPUs are requested and limited alike', () => {
    const [c] = podSpecOf(deployment({ containers: [container({ extendedResources: { 'nvidia.com/gpu': 2 } })] })).containers;
    expect(c.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi', 'nvidia.com/gpu': 2 },
      limits: { cpu: '500m', memory: '256Mi', 'nvidia.com/gpu': 2 },
    });
    expect(() => containerResources(RESOURCES, { 'nvidia.com/gpu': 0.5 })).toThrow(
      'extended resource nvidia.com/gpu: count must be a positive integer, not 0.5',
    );
  });

  test('ephemeral storage is requested and limited alike', () => {
    const [c] = podSpecOf(deployment({ containers: [container({ ephemeralStorage: '11008Mi' })] })).containers;
    expect(c.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '11008Mi' },
      limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '11008Mi' },
    });
  });

  test.each([
    [{ runAsUser: 0 }, 'container app: runAsUser must be an integer from 1 to 2147483647, not 0'],
    [{ runAsUser: 1000.5 }, 'container app: runAsUser must be an integer from 1 to 2147483647, not 1000.5'],
    [{ runAsGroup: 0 }, 'container app: runAsGroup must be an integer from 1 to 2147483647, not 0'],
  ])('refuses ids that are not a non-root number: %j', (props, message) => {
    expect(() => container(props)).toThrow(message);
  });
});

describe('restrictedPodSpec', () => {
  test('mounts no API token and sets non-root, ids, fsGroup and seccomp at pod level', () => {
    const spec = podSpecOf(deployment({ fsGroup: 100, fsGroupChangePolicy: 'OnRootMismatch', enableServiceLinks: false, serviceAccountName: 'sa' }));
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toEqual({
      fsGroup: 100,
      fsGroupChangePolicy: 'OnRootMismatch',
      runAsGroup: 1000,
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec).toMatchObject({ enableServiceLinks: false, serviceAccountName: 'sa' });
  });

  test('a pod without ids of its own sets only non-root and seccomp', () => {
    const spec = podSpecOf(deployment({ runAsUser: undefined, runAsGroup: undefined }));
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  test('native sidecars come first in initContainers with restartPolicy Always, then the init containers in order', () => {
    const init = (name: string) => container({ name, command: ['true'] });
    const spec = podSpecOf(deployment({ sidecars: [proxy()], initContainers: [init('wait'), init('seed')] }));
    expect(spec.initContainers.map((c: Json) => [c.name, c.restartPolicy])).toEqual([
      ['proxy', 'Always'],
      ['wait', undefined],
      ['seed', undefined],
    ]);
    // A sidecar keeps its probes; the main containers are unchanged.
    expect(spec.initContainers[0].startupProbe).toEqual({ httpGet: { path: '/startup', port: 9090 }, periodSeconds: 1 });
    expect(spec.containers.map((c: Json) => [c.name, c.restartPolicy])).toEqual([['app', undefined]]);
  });

  test('a pod with neither sidecars nor init containers renders no initContainers', () => {
    expect(podSpecOf(deployment())).not.toHaveProperty('initContainers');
  });

  test('refuses a regular init container with probes or lifecycle hooks (the API forbids them there)', () => {
    const probed = container({ name: 'wait', startupProbe: { exec: { command: ['true'] } }, lifecycle: { preStop: { exec: { command: ['true'] } } } });
    expect(() => restrictedPodSpec({ runAsGroup: 1, containers: [container()], initContainers: [probed] })).toThrow(
      'init container wait: lifecycle, startupProbe not allowed on a regular init container; make it a sidecar or drop them',
    );
    expect(() => restrictedPodSpec({ runAsGroup: 1, containers: [container()], sidecars: [probed] })).not.toThrow();
  });

  test('refuses a container whose security context or resources were replaced after it was built', () => {
    const loosened = { ...container(), securityContext: { runAsUser: 1000 } } as RestrictedContainer;
    expect(() => restrictedPodSpec({ containers: [loosened] })).toThrow(
      'container app is not restricted: it needs allowPrivilegeEscalation false, capabilities drop ALL, add none, privileged false, readOnlyRootFilesystem true, runAsNonRoot true, a non-zero runAsGroup (container or pod), seccompProfile RuntimeDefault',
    );
    const unbounded = { ...container(), resources: { requests: RESOURCES.requests } } as unknown as RestrictedContainer;
    expect(() => restrictedPodSpec({ containers: [unbounded] })).toThrow('container app is not restricted: it needs CPU and memory requests and limits');
  });

  test('refuses a container left without a group by both itself and the pod', () => {
    expect(() => restrictedPodSpec({ containers: [container({ runAsGroup: undefined })] })).toThrow('a non-zero runAsGroup (container or pod)');
    expect(() => restrictedPodSpec({ runAsGroup: 1000, containers: [container({ runAsGroup: undefined })] })).not.toThrow();
  });

  test('refuses no containers, a name used twice and a pod id of 0', () => {
    expect(() => restrictedPodSpec({ containers: [] })).toThrow('restrictedPodSpec: a pod needs at least one container');
    expect(() => restrictedPodSpec({ containers: [container()], sidecars: [container()] })).toThrow('container name "app" is used twice');
    expect(() => restrictedPodSpec({ fsGroup: 0, containers: [container()] })).toThrow('pod fsGroup must be an integer from 1 to 2147483647, not 0');
  });
});

describe('objects built from the helpers', () => {
  const withSidecar = () => deployment({ sidecars: [proxy()], initContainers: [container({ name: 'wait' })], fsGroup: 1000 });
  const HARDENING = ['resources.cpu-memory', 'security.read-only-root-fs', 'security.user-group-id', 'security.automount-token'];
  const rules = [...podSecurityRules, ...containerRules.filter((r) => HARDENING.includes(r.id))];
  const findings = (manifest: Json) => checkObjects([{ file: 'test', doc: 0, manifest }], { rules }).map((f) => `${f.rule} ${f.path}`);

  test('pass the policy gate: every Pod Security restricted rule and the container hardening rules', () => {
    expect(findings(withSidecar())).toEqual([]);
  });

  test('the same check finds the gaps in a pod built without the helpers (it is not vacuous)', () => {
    const plain = withSidecar();
    podSpecOf(plain).containers[0] = { name: 'app', image: 'example.com/app:1.0.0' };
    delete podSpecOf(plain).automountServiceAccountToken;
    expect(findings(plain)).toEqual(
      expect.arrayContaining([
        'pss.allow-privilege-escalation spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation',
        'pss.capabilities spec.template.spec.containers[0].securityContext.capabilities.drop',
        'resources.cpu-memory spec.template.spec.containers[0].resources.limits.cpu',
        'security.automount-token spec.template.spec.automountServiceAccountToken',
        'security.read-only-root-fs spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem',
      ]),
    );
  });

  strictTest('validate strictly against every Kubernetes version of the supported range', () => {
    const manifest = withSidecar();
    for (const version of availableKubernetesVersions()) expect([version, new KubernetesValidator(version).validate(manifest)]).toEqual([version, []]);
  });
});
