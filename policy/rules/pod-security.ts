/**
 * Pod Security Standards `restricted` (which includes `baseline`), field by field as the
 * pod-security-admission checks evaluate them at version v1.31 (plus the v1.34 host-probe check):
 * pod-level and container-level fields, over init, regular and ephemeral containers.
 */
import { containersAt, ContainerAt, PodTemplate } from '../model';
import type { Json, Violation } from '../types';
import type { Rule } from '../rule';

const SOURCES_BASELINE = ['PSS baseline', 'PSS restricted'] as const;
const SOURCES_RESTRICTED = ['PSS restricted'] as const;

/** The check runs for every pod template with every container list. */
function perTemplate(fn: (t: PodTemplate, containers: ContainerAt[]) => Iterable<Violation>) {
  return function* (set: import('../model').PolicySet): Iterable<Violation> {
    for (const t of set.templates) yield* fn(t, containersAt(t));
  };
}

const isWindows = (t: PodTemplate) => t.spec.os?.name === 'windows';
const name = (c: ContainerAt) => `container "${c.container.name ?? '?'}"`;

/** Volume sources the restricted profile allows (inline csi included, as the PSA code does). */
export const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** Sysctls the baseline profile allows at v1.31. */
export const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];

export const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];

const GOOD_SECCOMP = ['RuntimeDefault', 'Localhost'];

export const podSecurityRules: Rule[] = [
  {
    id: 'pss.host-process',
    severity: 'error',
    requires: 'No Windows HostProcess pod or container (`windowsOptions.hostProcess` unset or false).',
    sources: [...SOURCES_BASELINE, 'Polaris'],
    check: perTemplate(function* (t, containers) {
      if (t.spec.securityContext?.windowsOptions?.hostProcess === true)
        yield {
          object: t.object,
          path: `${t.specPath}.securityContext.windowsOptions.hostProcess`,
          message: 'pod runs as a Windows HostProcess',
          fix: 'remove windowsOptions.hostProcess',
        };
      for (const c of containers)
        if (c.container.securityContext?.windowsOptions?.hostProcess === true)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.windowsOptions.hostProcess`,
            message: `${name(c)} runs as a Windows HostProcess`,
            fix: 'remove windowsOptions.hostProcess',
          };
    }),
  },
  {
    id: 'pss.host-namespaces',
    severity: 'error',
    requires: 'The pod shares no host namespace: `hostNetwork`, `hostPID` and `hostIPC` unset or false.',
    sources: [...SOURCES_BASELINE, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t) {
      for (const field of ['hostNetwork', 'hostPID', 'hostIPC'])
        if (t.spec[field] === true)
          yield {
            object: t.object,
            path: `${t.specPath}.${field}`,
            message: `${field} is true: the pod shares the node's namespace`,
            fix: `remove ${field} (or set it to false)`,
          };
    }),
  },
  {
    id: 'pss.privileged',
    severity: 'error',
    requires: 'No container is privileged (`securityContext.privileged` unset or false).',
    sources: [...SOURCES_BASELINE, 'kube-score', 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      for (const c of containers)
        if (c.container.securityContext?.privileged === true)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.privileged`,
            message: `${name(c)} is privileged`,
            fix: 'set securityContext.privileged: false',
          };
    }),
  },
  {
    id: 'pss.capabilities',
    severity: 'error',
    requires: 'Every container drops `ALL` capabilities and adds none but `NET_BIND_SERVICE`.',
    sources: [...SOURCES_BASELINE, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      if (isWindows(t)) return;
      for (const c of containers) {
        const caps = c.container.securityContext?.capabilities ?? {};
        const drop: unknown[] = Array.isArray(caps.drop) ? caps.drop : [];
        if (!drop.includes('ALL'))
          yield {
            object: t.object,
            path: `${c.path}.securityContext.capabilities.drop`,
            message: `${name(c)} does not drop ALL capabilities`,
            fix: 'set securityContext.capabilities.drop: [ALL]',
          };
        const add: unknown[] = Array.isArray(caps.add) ? caps.add : [];
        for (let i = 0; i < add.length; i++)
          if (add[i] !== 'NET_BIND_SERVICE')
            yield {
              object: t.object,
              path: `${c.path}.securityContext.capabilities.add[${i}]`,
              message: `${name(c)} adds capability ${String(add[i])}`,
              fix: 'add no capability except NET_BIND_SERVICE',
            };
      }
    }),
  },
  {
    id: 'pss.volume-types',
    severity: 'error',
    requires: `Volumes are only ${RESTRICTED_VOLUME_TYPES.join(', ')} (in particular no hostPath).`,
    sources: [...SOURCES_RESTRICTED, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t) {
      const volumes: Json[] = Array.isArray(t.spec.volumes) ? t.spec.volumes : [];
      for (let i = 0; i < volumes.length; i++) {
        for (const type of Object.keys(volumes[i] ?? {})) {
          if (type === 'name' || RESTRICTED_VOLUME_TYPES.includes(type)) continue;
          const what = type === 'hostPath' ? `mounts the node path ${volumes[i].hostPath?.path ?? ''}` : `has type ${type}`;
          yield {
            object: t.object,
            path: `${t.specPath}.volumes[${i}].${type}`,
            message: `volume "${volumes[i].name}" ${what}`,
            fix: `use one of ${RESTRICTED_VOLUME_TYPES.join(', ')}`,
          };
        }
      }
    }),
  },
  {
    id: 'pss.host-ports',
    severity: 'error',
    requires: 'No container port sets `hostPort` (unset or 0).',
    sources: [...SOURCES_BASELINE, 'Polaris'],
    check: perTemplate(function* (t, containers) {
      for (const c of containers) {
        const ports: Json[] = Array.isArray(c.container.ports) ? c.container.ports : [];
        for (let i = 0; i < ports.length; i++)
          if (ports[i]?.hostPort)
            yield {
              object: t.object,
              path: `${c.path}.ports[${i}].hostPort`,
              message: `${name(c)} binds host port ${ports[i].hostPort}`,
              fix: 'remove hostPort; expose the port through a Service',
            };
      }
    }),
  },
  {
    id: 'pss.apparmor',
    severity: 'error',
    requires: 'AppArmor is never `Unconfined`: the annotation is `runtime/default` or `localhost/*`, the field `RuntimeDefault` or `Localhost`.',
    sources: [...SOURCES_BASELINE],
    check: perTemplate(function* (t, containers) {
      const annotationPrefix = 'container.apparmor.security.beta.kubernetes.io/';
      for (const [k, v] of Object.entries(t.annotations)) {
        if (!k.startsWith(annotationPrefix)) continue;
        if (v === '' || v === 'runtime/default' || String(v).startsWith('localhost/')) continue;
        yield { object: t.object, path: `${t.metaPath}.annotations.${k}`, message: `AppArmor profile ${v}`, fix: 'use runtime/default or localhost/<profile>' };
      }
      const field = (sc: Json | undefined, path: string, who: string): Violation | undefined => {
        const type = sc?.appArmorProfile?.type;
        if (type === undefined || GOOD_SECCOMP.includes(type)) return undefined;
        return {
          object: t.object,
          path: `${path}.appArmorProfile.type`,
          message: `${who} AppArmor profile is ${type}`,
          fix: 'use RuntimeDefault or Localhost',
        };
      };
      const pod = field(t.spec.securityContext, `${t.specPath}.securityContext`, 'pod');
      if (pod) yield pod;
      for (const c of containers) {
        const v = field(c.container.securityContext, `${c.path}.securityContext`, name(c));
        if (v) yield v;
      }
    }),
  },
  {
    id: 'pss.selinux',
    severity: 'error',
    requires: `SELinux options set no user or role, and a type only among ${SELINUX_TYPES.filter((s) => s).join(', ')}.`,
    sources: [...SOURCES_BASELINE],
    check: perTemplate(function* (t, containers) {
      const scs: [Json | undefined, string, string][] = [[t.spec.securityContext, `${t.specPath}.securityContext`, 'pod']];
      for (const c of containers) scs.push([c.container.securityContext, `${c.path}.securityContext`, name(c)]);
      for (const [sc, path, who] of scs) {
        const se = sc?.seLinuxOptions;
        if (!se) continue;
        if (se.type !== undefined && !SELINUX_TYPES.includes(se.type))
          yield {
            object: t.object,
            path: `${path}.seLinuxOptions.type`,
            message: `${who} SELinux type ${se.type}`,
            fix: `use one of ${SELINUX_TYPES.filter((s) => s).join(', ')} or none`,
          };
        for (const f of ['user', 'role'])
          if (se[f])
            yield { object: t.object, path: `${path}.seLinuxOptions.${f}`, message: `${who} sets SELinux ${f} ${se[f]}`, fix: `remove seLinuxOptions.${f}` };
      }
    }),
  },
  {
    id: 'pss.proc-mount',
    severity: 'error',
    requires: 'No container sets `procMount` other than `Default`.',
    sources: [...SOURCES_BASELINE, 'Polaris'],
    check: perTemplate(function* (t, containers) {
      for (const c of containers) {
        const pm = c.container.securityContext?.procMount;
        if (pm !== undefined && pm !== 'Default')
          yield {
            object: t.object,
            path: `${c.path}.securityContext.procMount`,
            message: `${name(c)} uses procMount ${pm}`,
            fix: 'remove procMount (Default)',
          };
      }
    }),
  },
  {
    id: 'pss.seccomp',
    severity: 'error',
    requires: 'Seccomp is `RuntimeDefault` or `Localhost`: at pod level, or on every container; never `Unconfined`.',
    sources: [...SOURCES_RESTRICTED, 'kube-score', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      const podType = t.spec.securityContext?.seccompProfile?.type;
      if (podType !== undefined && !GOOD_SECCOMP.includes(podType))
        yield {
          object: t.object,
          path: `${t.specPath}.securityContext.seccompProfile.type`,
          message: `pod seccomp profile is ${podType}`,
          fix: 'set seccompProfile.type: RuntimeDefault',
        };
      const podOk = GOOD_SECCOMP.includes(podType);
      for (const c of containers) {
        const type = c.container.securityContext?.seccompProfile?.type;
        if (type !== undefined && !GOOD_SECCOMP.includes(type))
          yield {
            object: t.object,
            path: `${c.path}.securityContext.seccompProfile.type`,
            message: `${name(c)} seccomp profile is ${type}`,
            fix: 'set seccompProfile.type: RuntimeDefault',
          };
        else if (type === undefined && !podOk && !isWindows(t))
          yield {
            object: t.object,
            path: `${c.path}.securityContext.seccompProfile.type`,
            message: `${name(c)} has no seccomp profile and the pod sets none`,
            fix: `set ${t.specPath}.securityContext.seccompProfile.type: RuntimeDefault`,
          };
      }
    }),
  },
  {
    id: 'pss.sysctls',
    severity: 'error',
    requires: 'Pod sysctls are only the safe set of the baseline profile (v1.31).',
    sources: [...SOURCES_BASELINE, 'kube-linter'],
    check: perTemplate(function* (t) {
      const sysctls: Json[] = Array.isArray(t.spec.securityContext?.sysctls) ? t.spec.securityContext.sysctls : [];
      for (let i = 0; i < sysctls.length; i++)
        if (!SAFE_SYSCTLS.includes(sysctls[i]?.name))
          yield {
            object: t.object,
            path: `${t.specPath}.securityContext.sysctls[${i}].name`,
            message: `unsafe sysctl ${sysctls[i]?.name}`,
            fix: `remove it; allowed: ${SAFE_SYSCTLS.join(', ')}`,
          };
    }),
  },
  {
    id: 'pss.host-probes',
    severity: 'error',
    requires: 'Probes and lifecycle hooks set no `host` (they target the pod itself).',
    sources: [...SOURCES_BASELINE],
    check: perTemplate(function* (t, containers) {
      for (const c of containers) {
        const handlers: [Json | undefined, string][] = [
          [c.container.livenessProbe, 'livenessProbe'],
          [c.container.readinessProbe, 'readinessProbe'],
          [c.container.startupProbe, 'startupProbe'],
          [c.container.lifecycle?.postStart, 'lifecycle.postStart'],
          [c.container.lifecycle?.preStop, 'lifecycle.preStop'],
        ];
        for (const [h, at] of handlers)
          for (const kind of ['httpGet', 'tcpSocket'])
            if (h?.[kind]?.host)
              yield {
                object: t.object,
                path: `${c.path}.${at}.${kind}.host`,
                message: `${name(c)} ${at} targets host ${h[kind].host}`,
                fix: 'remove host so the probe targets the pod',
              };
      }
    }),
  },
  {
    id: 'pss.allow-privilege-escalation',
    severity: 'error',
    requires: 'Every container sets `securityContext.allowPrivilegeEscalation: false` explicitly.',
    sources: [...SOURCES_RESTRICTED, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      if (isWindows(t)) return;
      for (const c of containers)
        if (c.container.securityContext?.allowPrivilegeEscalation !== false)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.allowPrivilegeEscalation`,
            message: `${name(c)} does not set allowPrivilegeEscalation: false`,
            fix: 'set securityContext.allowPrivilegeEscalation: false',
          };
    }),
  },
  {
    id: 'pss.run-as-non-root',
    severity: 'error',
    requires: '`runAsNonRoot: true` at pod level with no container setting false, or on every container.',
    sources: [...SOURCES_RESTRICTED, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      const pod = t.spec.securityContext?.runAsNonRoot;
      if (pod === false)
        yield { object: t.object, path: `${t.specPath}.securityContext.runAsNonRoot`, message: 'pod sets runAsNonRoot: false', fix: 'set runAsNonRoot: true' };
      for (const c of containers) {
        const own = c.container.securityContext?.runAsNonRoot;
        if (own === false)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.runAsNonRoot`,
            message: `${name(c)} sets runAsNonRoot: false`,
            fix: 'set runAsNonRoot: true',
          };
        else if (own === undefined && pod !== true)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.runAsNonRoot`,
            message: `${name(c)} may run as root: neither it nor the pod sets runAsNonRoot: true`,
            fix: `set ${t.specPath}.securityContext.runAsNonRoot: true`,
          };
      }
    }),
  },
  {
    id: 'pss.run-as-user',
    severity: 'error',
    requires: '`runAsUser` is never 0, at pod or container level.',
    sources: [...SOURCES_RESTRICTED, 'kube-linter', 'Polaris'],
    check: perTemplate(function* (t, containers) {
      if (t.spec.securityContext?.runAsUser === 0)
        yield { object: t.object, path: `${t.specPath}.securityContext.runAsUser`, message: 'pod runs as uid 0', fix: 'set a non-zero runAsUser' };
      for (const c of containers)
        if (c.container.securityContext?.runAsUser === 0)
          yield { object: t.object, path: `${c.path}.securityContext.runAsUser`, message: `${name(c)} runs as uid 0`, fix: 'set a non-zero runAsUser' };
    }),
  },
];
