/** The live tests' PostgreSQL servers: local/postgres.ts, which `npm run local` uses too. */
export * from '../../../local/postgres';
