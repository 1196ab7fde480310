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
