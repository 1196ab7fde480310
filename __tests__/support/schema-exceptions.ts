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
 * customResponseHeaders. Both versions of the CRD get the same correction.
 */
export const CRD_SCHEMA_PATCHES: readonly CrdSchemaPatch[] = ['v1', 'v1beta1'].map((version) => ({
  crd: `cloud.google.com/${version}/BackendConfig`,
  reason: 'ingress-gce >= v1.28.0: iap.oauthclientCredentials is optional; customResponseHeaders exists',
  patch: (schema: Json) => {
    const spec = schema.properties?.spec;
    const iap = spec?.properties?.iap;
    if (iap?.required) iap.required = iap.required.filter((r: string) => r !== 'oauthclientCredentials');
    if (spec?.properties && !spec.properties.customResponseHeaders)
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
                    podSelector: {
                      type: 'object',
                      properties: {
                        matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
                        matchExpressions: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['key', 'operator'],
                            properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } },
                          },
                        },
                      },
                    },
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
