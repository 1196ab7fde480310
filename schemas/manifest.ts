/**
 * The schema files strict validation reads, pinned: where each one lives in the schema folder, the
 * upstream file it is (a raw GitHub URL at a full commit hash, so the bytes cannot move) and the sha256
 * of those bytes. `npm run schemas` downloads exactly these files and refuses any other bytes.
 *
 * Provenance: each URL's commit is the one its release tag points to (or, with no tag, the commit that
 * was copied). Each file's git blob hash at that commit was compared with the copy validated against,
 * and each sha256 was computed from the upstream blob. The raw URL form is
 * https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>. File names are the upstream names.
 */

export interface SchemaFile {
  /** Relative path in the schema folder, e.g. `crds/flux/<file>.yaml`. */
  readonly path: string;
  /** The upstream file at a pinned commit. */
  readonly url: string;
  /** sha256 of the file's bytes, lower-case hex. */
  readonly sha256: string;
}

export const SCHEMA_FILES: readonly SchemaFile[] = [
  // cdk8s-team/cdk8s, commit 71f8cba7ecc809d861e837e842217202d5e5a16c (2026-08-22), folder kubernetes-schemas/:
  // the Kubernetes OpenAPI definitions as one JSON-Schema `definitions` map per version. No release tag
  // covers these files, so the commit is pinned. Apache-2.0.
  {
    path: 'kubernetes/v1.27.0/_definitions.json',
    url: 'https://raw.githubusercontent.com/cdk8s-team/cdk8s/71f8cba7ecc809d861e837e842217202d5e5a16c/kubernetes-schemas/v1.27.0/_definitions.json',
    sha256: '58a37fdf0c9d45b677663b57cad9d98b73d927af583a8ebee69613d09e1365d9',
  },
  {
    path: 'kubernetes/v1.31.0/_definitions.json',
    url: 'https://raw.githubusercontent.com/cdk8s-team/cdk8s/71f8cba7ecc809d861e837e842217202d5e5a16c/kubernetes-schemas/v1.31.0/_definitions.json',
    sha256: 'c588bcd318298193c3774dbe58d2e2356b8e847eafa2a1d53c52bf4eea089517',
  },
  {
    path: 'kubernetes/v1.34.0/_definitions.json',
    url: 'https://raw.githubusercontent.com/cdk8s-team/cdk8s/71f8cba7ecc809d861e837e842217202d5e5a16c/kubernetes-schemas/v1.34.0/_definitions.json',
    sha256: '20c1170fc31e4e0021067e9d9c4969eee2ad54bbf851cb83239d69438a3de774',
  },
  // GoogleCloudPlatform/gke-managed-certs, tag v1.2.12 = commit c51410116a81e8c0e1defe81607951509acea979,
  // deploy/: ManagedCertificate. Apache-2.0.
  {
    path: 'crds/gke/managedcertificates-crd.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/gke-managed-certs/c51410116a81e8c0e1defe81607951509acea979/deploy/managedcertificates-crd.yaml',
    sha256: '3a2f00da2e6537deee2355a3786f81200ff498874ca4347a929b5661ab9101fd',
  },
  // GoogleCloudPlatform/gke-gateway-api, tag v1.4.0 = commit a663dec06e3fa9e07fd252480b1f55043dd1863a,
  // config/crd/: GCPBackendPolicy, GCPGatewayPolicy, HealthCheckPolicy. Apache-2.0.
  {
    path: 'crds/gke/networking.gke.io_gcpbackendpolicies.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/gke-gateway-api/a663dec06e3fa9e07fd252480b1f55043dd1863a/config/crd/networking.gke.io_gcpbackendpolicies.yaml',
    sha256: '4386a156a7f616f857dea99eba7c740f30062d972a9dc9a1a4659237f92c2262',
  },
  {
    path: 'crds/gke/networking.gke.io_gcpgatewaypolicies.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/gke-gateway-api/a663dec06e3fa9e07fd252480b1f55043dd1863a/config/crd/networking.gke.io_gcpgatewaypolicies.yaml',
    sha256: '36156849b6abf90bf449fb0ebcb5c6186988d9b2c99a3857ee8bfa69fd215a6e',
  },
  {
    path: 'crds/gke/networking.gke.io_healthcheckpolicies.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/gke-gateway-api/a663dec06e3fa9e07fd252480b1f55043dd1863a/config/crd/networking.gke.io_healthcheckpolicies.yaml',
    sha256: '84ab87aa2728506e77c8069599ae1d814d4686a930ed4791e0aa43a8d8dd3356',
  },
  // GoogleCloudPlatform/prometheus-engine, tag v0.17.2 = commit 7920a2a222af1c09535d8141684e2944670c5041,
  // charts/operator/crds/: ClusterPodMonitoring, PodMonitoring. Apache-2.0.
  {
    path: 'crds/gke/monitoring.googleapis.com_clusterpodmonitorings.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/prometheus-engine/7920a2a222af1c09535d8141684e2944670c5041/charts/operator/crds/monitoring.googleapis.com_clusterpodmonitorings.yaml',
    sha256: '9bc1857ded418ef5de06bffa47020d68b2e00eac0f8867ac83a88e16a87bbc28',
  },
  {
    path: 'crds/gke/monitoring.googleapis.com_podmonitorings.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/prometheus-engine/7920a2a222af1c09535d8141684e2944670c5041/charts/operator/crds/monitoring.googleapis.com_podmonitorings.yaml',
    sha256: 'd344029bc7754e0254d7c253db9d6400b344d5837e121b42790946757bc79f1f',
  },
  // tommy351/kubernetes-models-ts, commit f819b64baeb1a8cf7da7c5cfdf4faa6339112e9a (2026-05-14),
  // third-party/gke/crd/: BackendConfig and FrontendConfig as read from a GKE cluster (ingress-gce
  // publishes no CRD file; the BackendConfig copy is out of date, see
  // __tests__/support/schema-exceptions.ts). No tag, so the commit is pinned. The repository is MIT.
  {
    path: 'crds/gke/backendconfigs.yaml',
    url: 'https://raw.githubusercontent.com/tommy351/kubernetes-models-ts/f819b64baeb1a8cf7da7c5cfdf4faa6339112e9a/third-party/gke/crd/backendconfigs.yaml',
    sha256: '5084924ca1473a4d4c8e22f85e18c6474480ff1091ae73c2e2918750055783d7',
  },
  {
    path: 'crds/gke/frontendconfigs.yaml',
    url: 'https://raw.githubusercontent.com/tommy351/kubernetes-models-ts/f819b64baeb1a8cf7da7c5cfdf4faa6339112e9a/third-party/gke/crd/frontendconfigs.yaml',
    sha256: '3a3c436b1643c3c5f846d2659ad7dd9888388735216ee819eac97a7020e0482a',
  },
  // fluxcd/source-controller, tag v1.9.1 = commit 092bcff3c9c3f258a44310507201d295ff294ba6,
  // config/crd/bases/: GitRepository, HelmRepository, OCIRepository. Apache-2.0.
  {
    path: 'crds/flux/source.toolkit.fluxcd.io_gitrepositories.yaml',
    url: 'https://raw.githubusercontent.com/fluxcd/source-controller/092bcff3c9c3f258a44310507201d295ff294ba6/config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml',
    sha256: '39a5a46c81539c992abc53f9be3e5434cd70d50a10d169b1e8a450e0df1c9d09',
  },
  {
    path: 'crds/flux/source.toolkit.fluxcd.io_helmrepositories.yaml',
    url: 'https://raw.githubusercontent.com/fluxcd/source-controller/092bcff3c9c3f258a44310507201d295ff294ba6/config/crd/bases/source.toolkit.fluxcd.io_helmrepositories.yaml',
    sha256: '97c7759df00946cbb9a75a56457cff9964b2543d2248df859cef21e26b8e2ae6',
  },
  {
    path: 'crds/flux/source.toolkit.fluxcd.io_ocirepositories.yaml',
    url: 'https://raw.githubusercontent.com/fluxcd/source-controller/092bcff3c9c3f258a44310507201d295ff294ba6/config/crd/bases/source.toolkit.fluxcd.io_ocirepositories.yaml',
    sha256: '2655834d468e46a533410d9e2bc3f4e7cbf9b4c922b95652012acb09bfb2545a',
  },
  // fluxcd/kustomize-controller, tag v1.9.4 = commit 1324b615da01038e2859cbcde604bd5434f21933,
  // config/crd/bases/: Kustomization. Apache-2.0.
  {
    path: 'crds/flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml',
    url: 'https://raw.githubusercontent.com/fluxcd/kustomize-controller/1324b615da01038e2859cbcde604bd5434f21933/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml',
    sha256: 'da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974',
  },
  // fluxcd/helm-controller, tag v1.6.3 = commit 372c34e2b4a455d24ef6cbb8321c82c4533dbbd8,
  // config/crd/bases/: HelmRelease. Apache-2.0.
  {
    path: 'crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml',
    url: 'https://raw.githubusercontent.com/fluxcd/helm-controller/372c34e2b4a455d24ef6cbb8321c82c4533dbbd8/config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml',
    sha256: 'aa8638ac68465ceac1f93a617baf5be833c589c51fd78a7384a4a274c252becc',
  },
  // cert-manager/cert-manager, tag v1.21.1 = commit 24e33194fb39488eff2bbf10c6dc640f407cad44,
  // deploy/crds/: Certificate, ClusterIssuer, Issuer. Apache-2.0.
  {
    path: 'crds/cert-manager/cert-manager.io_certificates.yaml',
    url: 'https://raw.githubusercontent.com/cert-manager/cert-manager/24e33194fb39488eff2bbf10c6dc640f407cad44/deploy/crds/cert-manager.io_certificates.yaml',
    sha256: '7ad91029c00ec959d54215b19d3b1a9b7e0247eaa60f987151c2b70d8661f8af',
  },
  {
    path: 'crds/cert-manager/cert-manager.io_clusterissuers.yaml',
    url: 'https://raw.githubusercontent.com/cert-manager/cert-manager/24e33194fb39488eff2bbf10c6dc640f407cad44/deploy/crds/cert-manager.io_clusterissuers.yaml',
    sha256: '30008001b78aafb8e110af61359561104b5fafc3a4dc6ac0013245d0ee3fe4ca',
  },
  {
    path: 'crds/cert-manager/cert-manager.io_issuers.yaml',
    url: 'https://raw.githubusercontent.com/cert-manager/cert-manager/24e33194fb39488eff2bbf10c6dc640f407cad44/deploy/crds/cert-manager.io_issuers.yaml',
    sha256: '05e37efb02777e0362d24269fa103c2fc11419f9c85e31854ef873e5d9e5c5cc',
  },
  // kubernetes-sigs/secrets-store-csi-driver, tag v1.6.0 = commit 4960f9637c51ad9cb9ef264481bc6d9a98bf1f1c,
  // deploy/: SecretProviderClass. Apache-2.0.
  {
    path: 'crds/secrets-store/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml',
    url: 'https://raw.githubusercontent.com/kubernetes-sigs/secrets-store-csi-driver/4960f9637c51ad9cb9ef264481bc6d9a98bf1f1c/deploy/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml',
    sha256: 'ef1623b34403bb11311fc92763b5b364ba456a166f1637eeec8d29052dd115f3',
  },
  // kubernetes-sigs/gateway-api, tag v1.6.1 = commit 8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3,
  // config/crd/standard/: Gateway, HTTPRoute (standard channel). Apache-2.0.
  {
    path: 'crds/gateway-api/gateway.networking.k8s.io_gateways.yaml',
    url: 'https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3/config/crd/standard/gateway.networking.k8s.io_gateways.yaml',
    sha256: '25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a',
  },
  {
    path: 'crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml',
    url: 'https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml',
    sha256: 'a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852',
  },
  // GoogleCloudPlatform/k8s-config-connector, tag v1.155.1 = commit 033afecec0b66d43ca04d9bfc20b43e4453c2a09,
  // config/crds/resources/: the Config Connector kinds the platform uses. Apache-2.0.
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computeaddresses.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computeaddresses.compute.cnrm.cloud.google.com.yaml',
    sha256: 'ce3c11916f48a033c6aafa0713bf555dc9f06cd0d2a37472a6d188fbc5b758a0',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computenetworks.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computenetworks.compute.cnrm.cloud.google.com.yaml',
    sha256: '324e3c2c40234b55f2b835f27d4ff07658d0be562defc470527146240b4015cf',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computerouternats.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computerouternats.compute.cnrm.cloud.google.com.yaml',
    sha256: 'b0f648a1c8d85eb6e8f05551d49457b2b937b9d890e19072a262753ba5f2c5b9',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computerouters.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computerouters.compute.cnrm.cloud.google.com.yaml',
    sha256: '9f28175ff4054e850942038463dc534c68bc0cc47302c00a3c50e3d78cf311d9',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computesecuritypolicies.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computesecuritypolicies.compute.cnrm.cloud.google.com.yaml',
    sha256: '697fefcc534cc41a9d9056a0187f5d294f67d7031437761eebd5ae756204993c',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computesslpolicies.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computesslpolicies.compute.cnrm.cloud.google.com.yaml',
    sha256: '360a5c4f6066469822d8f53611ea40026ea30bc468ff5f39f5c16db4d5133d01',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_computesubnetworks.compute.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_computesubnetworks.compute.cnrm.cloud.google.com.yaml',
    sha256: '2067498fda9babb29ad1459c4678f8e84b70620f890e47375410c0698a12593e',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_containerclusters.container.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_containerclusters.container.cnrm.cloud.google.com.yaml',
    sha256: 'b84bd526ede46a337d92d3e5d176aa41b20b56e9b171321162b00983914dc0de',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_containernodepools.container.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_containernodepools.container.cnrm.cloud.google.com.yaml',
    sha256: 'b1e3ed69ced9972db8cd57c01401687fa625985305260fcc9d0a472db912e55c',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_iamauditconfigs.iam.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_iamauditconfigs.iam.cnrm.cloud.google.com.yaml',
    sha256: '032986825b3e34fe0add1b61a49a1223eb2aef850a3c224e84130f2d128b0fb9',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_iampartialpolicies.iam.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_iampartialpolicies.iam.cnrm.cloud.google.com.yaml',
    sha256: '5ea0bb77cd72c573e240d0b42314407a43e559532da466c64e67ea4290650d2e',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_iampolicymembers.iam.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_iampolicymembers.iam.cnrm.cloud.google.com.yaml',
    sha256: '3857b636b797d04c66d5b8e3ab638ec0671a6c784a2dc4c96817a58573195d29',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_iamserviceaccounts.iam.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_iamserviceaccounts.iam.cnrm.cloud.google.com.yaml',
    sha256: '6f6bc2a8529bd4614ac6e119ee2c5ed5b4040cf54bc37ff5fc00eb6042be7f44',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_kmscryptokeys.kms.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_kmscryptokeys.kms.cnrm.cloud.google.com.yaml',
    sha256: '5ba6ad095bda46d3de2d3d83a85c136cafac2d818bf5fd0bb6d9f41bd03d0281',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_kmskeyrings.kms.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_kmskeyrings.kms.cnrm.cloud.google.com.yaml',
    sha256: '4205896ec1cea564326a945bdeebf19eee5bbe8ed9098218a3de0ff081c384f3',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_logginglogbuckets.logging.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_logginglogbuckets.logging.cnrm.cloud.google.com.yaml',
    sha256: 'ef9bd3c25f66eaa74725d95b2f0077c4fc67762571f9ee6c1015348903c0bae8',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_logginglogsinks.logging.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_logginglogsinks.logging.cnrm.cloud.google.com.yaml',
    sha256: '1a2ffd3ab4bef1e89d6e88a7d48f4b468a3d29ca7d3001e6a54710c35b09b999',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_monitoringalertpolicies.monitoring.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_monitoringalertpolicies.monitoring.cnrm.cloud.google.com.yaml',
    sha256: 'faad6c00be4fa575396e860931b4eb5b1d6d516a7e505c3aa020790a134189ce',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_monitoringdashboards.monitoring.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_monitoringdashboards.monitoring.cnrm.cloud.google.com.yaml',
    sha256: '80353322e22fc441672c8bc43c7c42a4417a15cd03af5b50500497f021c00ea6',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_monitoringnotificationchannels.monitoring.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_monitoringnotificationchannels.monitoring.cnrm.cloud.google.com.yaml',
    sha256: '3de269a1f5c1cb170c9858acfa20f4de91a22c12b2cd7789bbd4591937260bf9',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_monitoringuptimecheckconfigs.monitoring.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_monitoringuptimecheckconfigs.monitoring.cnrm.cloud.google.com.yaml',
    sha256: 'e520595494fa986f5ded3d37d3168e9acf13ab7916150c9224e586d6774548bc',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_secretmanagersecrets.secretmanager.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_secretmanagersecrets.secretmanager.cnrm.cloud.google.com.yaml',
    sha256: 'ac14433c61ba69cfa66cf928b8097affa15b00136fba6005355720817ab52140',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_secretmanagersecretversions.secretmanager.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_secretmanagersecretversions.secretmanager.cnrm.cloud.google.com.yaml',
    sha256: 'e45c8401ef62433c2bb7375ed3bbd8573bb1cbfe0f9fb02df00486a654f043db',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_serviceidentities.serviceusage.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_serviceidentities.serviceusage.cnrm.cloud.google.com.yaml',
    sha256: '9ec0a5552db37d20e0c95b028d2c086f2a5a3f6b4730a23947f3c34a51ee83b2',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_servicenetworkingconnections.servicenetworking.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_servicenetworkingconnections.servicenetworking.cnrm.cloud.google.com.yaml',
    sha256: '90eaeff75239669fbb9a430baea53d35da26d722aaabf357e0c1a8fcc77fca13',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_services.serviceusage.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_services.serviceusage.cnrm.cloud.google.com.yaml',
    sha256: '1c1c4bf2ac71aef5f3e255f8c0607dc55a366d3fd7632fe44bac5fab655fde94',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_sqldatabases.sql.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_sqldatabases.sql.cnrm.cloud.google.com.yaml',
    sha256: '2cd87be82b5b1fc0d1b934874d4495a014f602a4b1a92b2974349c6871e81dea',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_sqlinstances.sql.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_sqlinstances.sql.cnrm.cloud.google.com.yaml',
    sha256: 'f7b5d214cb4af17b531f498ae081058da3ca226f74ebdcd9678fd1acf2fbbe2f',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_sqlusers.sql.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_sqlusers.sql.cnrm.cloud.google.com.yaml',
    sha256: 'f9cfa9d6c4dfdb0bd6bbde30692eb5b7e5a83a94c2a3ce879914235bdca25eb3',
  },
  {
    path: 'crds/config-connector/apiextensions.k8s.io_v1_customresourcedefinition_storagebuckets.storage.cnrm.cloud.google.com.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_storagebuckets.storage.cnrm.cloud.google.com.yaml',
    sha256: '70250a86db6e1206aedf9c059caeec2e011900d3632f4984a6924eb96a773462',
  },
  // The same commit, operator/config/crd/bases/: ConfigConnector and ConfigConnectorContext (the
  // operator's CRDs, unpatched base). Apache-2.0.
  {
    path: 'crds/config-connector/core.cnrm.cloud.google.com_configconnectorcontexts.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/operator/config/crd/bases/core.cnrm.cloud.google.com_configconnectorcontexts.yaml',
    sha256: '6d40a92b689a6f22ecf2aba3e190caa4696f903e9ac9244ee8032c0363594054',
  },
  {
    path: 'crds/config-connector/core.cnrm.cloud.google.com_configconnectors.yaml',
    url: 'https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/033afecec0b66d43ca04d9bfc20b43e4453c2a09/operator/config/crd/bases/core.cnrm.cloud.google.com_configconnectors.yaml',
    sha256: '52f8516393c70a71fa77399a90678ad22678834a26fa5046dea26ecf8f8692a7',
  },
];
