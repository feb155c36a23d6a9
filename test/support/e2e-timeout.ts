// A scratch database, its migrations and the app take seconds on a busy 2-core machine: give e2e
// hooks and tests more than jest's 5 s (a file that sets its own timeout still wins).
jest.setTimeout(30_000);
