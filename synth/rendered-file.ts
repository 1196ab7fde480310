/** What a render produces: files relative to `dist/`, each with the objects it holds. */

/** A rendered Kubernetes object, as plain JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON (rendered manifests), read at any depth
export type Manifest = Record<string, any>;

export interface RenderedFile {
  /** Path relative to `dist/`, with `/` separators. */
  readonly path: string;
  readonly content: string;
  /** The objects the file holds, for callers that want them without parsing the YAML. */
  readonly objects?: readonly Manifest[];
}
