/**
 * `npm run schemas`: downloads the pinned schema files (schemas/manifest.ts) from their upstream
 * repositories, checks each one's sha256 and puts the folder in the cache the tests read (see
 * schemas/cache.ts). `MLFLOW_GKE_SCHEMAS_BASE_URL` replaces https://raw.githubusercontent.com (a mirror).
 */
import { downloadSchemas, SchemaDownloadError } from '../schemas/download';

async function main(): Promise<void> {
  try {
    const { dir, downloaded } = await downloadSchemas({ baseUrl: process.env.MLFLOW_GKE_SCHEMAS_BASE_URL || undefined });
    console.log(downloaded > 0 ? `schemas: ${downloaded} files downloaded and verified into ${dir}` : `schemas: already there and verified: ${dir}`);
  } catch (e) {
    console.error(e instanceof SchemaDownloadError ? e.message : `schemas: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

main();
