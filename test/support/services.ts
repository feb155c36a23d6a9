/**
 * Where the shared test services are: from the environment (REDIS_URL, DATABASE_URL's server via
 * TEST_DATABASE_ADMIN_URL), defaulting to the local ones scripts/ensure-services.sh starts.
 * Tests that break a service start their own instead (test/support/chaos/).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
