/**
 * The example configs the project ships in config/. Listed, not globbed, so a user's own
 * config/*.yaml never becomes a test, snapshot or benchmark source; a test keeps the list in step
 * with the repository.
 */
export const EXAMPLE_CONFIGS: readonly string[] = ['dev.yaml', 'prod.yaml'];
