/**
 * Every exception to strict schema validation, in one place, each with its reason. Nothing else in
 * the suite may skip or loosen validation.
 */
type Json = Record<string, any>;

export interface VersionException {
  /** Kubernetes versions whose schema lacks the field. */
  readonly versions: readonly string[];
  readonly kind: string;
  /** The validation message this exception accepts. */
  readonly message: RegExp;
  readonly reason: string;
}

/**
 * Fields that some Kubernetes version of the supported range (1.31 to 1.34) lacks, each with the
 * versions whose schema may reject it. None so far: every render validates against both.
 */
export const VERSION_EXCEPTIONS: readonly VersionException[] = [];

export interface CrdSchemaPatch {
  /** group/version/kind of the CRD. */
  readonly crd: string;
  readonly reason: string;
  readonly patch: (openApiV3Schema: Json) => void;
}

/**
 * Corrections to CRD copies known to be out of date. The BackendConfig copy in shared/schemas was
 * read from an old cluster: it still requires iap.oauthclientCredentials (optional since
 * ingress-gce v1.28.0, when IAP can use the Google-managed OAuth client) and lacks
 * customResponseHeaders. Both versions get the iap correction; only v1 gets the field, which is
 * ingress-gce's own type: `CustomResponseHeaders *CustomResponseHeadersConfig
 * json:"customResponseHeaders,omitempty"` with `Headers []string json:"headers,omitempty"`
 * (kubernetes/ingress-gce v1.41.1, commit 361e4187eb3a, pkg/apis/backendconfig/v1/types.go; the type
 * entered that file in 2022), each entry `header-name:header-value`
 * (cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration, "Custom response headers";
 * cloud.google.com/load-balancing/docs/https/custom-headers-global). The edge chart uses it for HSTS.
 * The fallback packages need no such entry: they do not reject unknown fields.
 */
export const CRD_SCHEMA_PATCHES: readonly CrdSchemaPatch[] = ['v1', 'v1beta1'].map((version) => ({
  crd: `cloud.google.com/${version}/BackendConfig`,
  reason:
    version === 'v1'
      ? 'ingress-gce >= v1.28.0: iap.oauthclientCredentials is optional; customResponseHeaders exists'
      : 'ingress-gce >= v1.28.0: iap.oauthclientCredentials is optional (v1beta1 has no customResponseHeaders)',
  patch: (schema: Json) => {
    const spec = schema.properties?.spec;
    const iap = spec?.properties?.iap;
    if (iap?.required) iap.required = iap.required.filter((r: string) => r !== 'oauthclientCredentials');
    // Only v1: ingress-gce's v1beta1 BackendConfigSpec has no such field (v1.41.1
    // pkg/apis/backendconfig/v1beta1/types.go), so a v1beta1 object that sets it is still rejected.
    if (version === 'v1' && spec?.properties && !spec.properties.customResponseHeaders)
      spec.properties.customResponseHeaders = {
        type: 'object',
        properties: { headers: { type: 'array', items: { type: 'string' } } },
      };
  },
}));

/**
 * The same correction for the fallback validator (the kubernetes-models packages, used only when the
 * schema directory is missing): their BackendConfig schema is the same old copy.
 */
export const FALLBACK_EXCEPTIONS: readonly { readonly kind: string; readonly message: RegExp; readonly reason: string }[] = [
  {
    kind: 'BackendConfig',
    message: /spec\/iap must have required property oauthclientCredentials/,
    reason: 'ingress-gce >= v1.28.0: iap.oauthclientCredentials is optional (Google-managed OAuth client)',
  },
];

export interface StandInSchema {
  /** group/version/kind of the custom resource. */
  readonly crd: string;
  /** The CRD's plural and scope, for the cluster tier's stand-in CRD. */
  readonly plural: string;
  readonly scope: 'Cluster' | 'Namespaced';
  readonly reason: string;
  /** A structural OpenAPI v3 schema of the object (no additionalProperties: closed when loaded offline). */
  readonly schema: Json;
}

const str = (max = 253) => ({ type: 'string', minLength: 1, maxLength: max });
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
/** metav1.LabelSelector. */
const labelSelector = {
  type: 'object',
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};
const sourceObject = {
  type: 'object',
  properties: { name: str(), selector: labelSelector, key: str(), includeAllKeys: { type: 'boolean' } },
  oneOf: [{ required: ['name'] }, { required: ['selector'] }],
};
const targetTemplate = {
  type: 'object',
  required: ['key'],
  properties: { key: str(), metadata: { type: 'object', properties: { annotations: stringMap, labels: stringMap } } },
};

/**
 * Kinds the render uses whose CRD is in no schema folder: a schema written here from the kind's Go
 * types stands in for it, offline (support/schemas.ts CrdValidator) and in the cluster tier
 * (cluster/support/crds.ts installs a CRD made from it). A stand-in is weaker than the upstream CRD:
 * it carries no CEL rules and was typed from the Go source, not generated. When the real CRD is in the
 * schema folder, it wins.
 *
 * trust-manager's Bundle: its CRD ships in the trust-manager Helm chart
 * (deploy/charts/trust-manager/templates/crd-trust.cert-manager.io_bundles.yaml), which the pinned
 * schema set (schemas/manifest.ts, raw files at fixed commits) does not include, and CRD files are not
 * copied into this repository. The schema below follows trust-manager v0.24.0
 * pkg/apis/trust/v1alpha1/types_bundle.go (commit 75590d07c8b5): BundleSpec{sources (1 to 100),
 * target}; BundleSource, exactly one of configMap, secret, inLine (1 to 1048576 characters),
 * useDefaultCAs; SourceObjectKeySelector, exactly one of name and selector, plus key and
 * includeAllKeys; BundleTarget{configMap, secret (TargetTemplate: key required, metadata labels and
 * annotations), additionalFormats (jks, pkcs12), namespaceSelector (LabelSelector)}; scope Cluster.
 */
export const STAND_IN_SCHEMAS: readonly StandInSchema[] = [
  {
    crd: 'trust.cert-manager.io/v1alpha1/Bundle',
    plural: 'bundles',
    scope: 'Cluster',
    reason: 'trust-manager publishes its Bundle CRD only inside its Helm chart, which the pinned schema set does not hold',
    schema: {
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        spec: {
          type: 'object',
          required: ['sources'],
          properties: {
            sources: {
              type: 'array',
              minItems: 1,
              maxItems: 100,
              items: {
                type: 'object',
                properties: { configMap: sourceObject, secret: sourceObject, inLine: str(1048576), useDefaultCAs: { type: 'boolean' } },
                oneOf: [{ required: ['configMap'] }, { required: ['secret'] }, { required: ['inLine'] }, { required: ['useDefaultCAs'] }],
              },
            },
            target: {
              type: 'object',
              properties: {
                configMap: targetTemplate,
                secret: targetTemplate,
                additionalFormats: {
                  type: 'object',
                  properties: {
                    jks: { type: 'object', required: ['key'], properties: { key: str(), password: str(128) } },
                    pkcs12: {
                      type: 'object',
                      required: ['key'],
                      properties: {
                        key: str(),
                        password: { type: 'string', maxLength: 128 },
                        profile: { type: 'string', enum: ['LegacyRC2', 'LegacyDES', 'Modern2023'] },
                      },
                    },
                  },
                },
                namespaceSelector: labelSelector,
              },
              anyOf: [{ required: ['configMap'] }, { required: ['secret'] }],
            },
          },
        },
      },
    },
  },
];

/**
 * CRDs written here by hand, for kinds whose owner publishes no CRD file, so that the strict
 * validation and the local control plane (__tests__/cluster/support/crds.ts) judge them at all. Each
 * schema holds only the fields its documentation names, and nothing else is accepted.
 *
 * FQDNNetworkPolicy (networking.gke.io/v1alpha1): GKE installs the CRD itself when the cluster's FQDN
 * network policy is on; Google publishes no copy. The fields are those of
 * https://cloud.google.com/kubernetes-engine/docs/how-to/fqdn-network-policies: `spec.podSelector`
 * (a label selector), `spec.egress[].matches[]` with `name` (exact host) or `pattern` (with `*`), and
 * `spec.egress[].ports[]` with `protocol` and `port`. charts/lib/fqdn-network-policy.ts types the same
 * fields. This checks the render against the documentation, not against GKE's own schema.
 */
export const HAND_WRITTEN_CRDS: readonly Json[] = [
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'fqdnnetworkpolicies.networking.gke.io' },
    spec: {
      group: 'networking.gke.io',
      names: { kind: 'FQDNNetworkPolicy', listKind: 'FQDNNetworkPolicyList', plural: 'fqdnnetworkpolicies', singular: 'fqdnnetworkpolicy' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['podSelector'],
                  properties: {
                    podSelector: labelSelector,
                    egress: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          matches: {
                            type: 'array',
                            items: { type: 'object', properties: { name: { type: 'string' }, pattern: { type: 'string' } } },
                          },
                          ports: {
                            type: 'array',
                            items: { type: 'object', properties: { protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] }, port: { type: 'integer' } } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  },
];
