/**
 * Files that run several gateway processes with their servers (nginx, PostgreSQL, Redis,
 * s3rver) or kill them mid-way, and wait on them within fixed timeouts. Sharing two cores with
 * the rest of the suite and every other package's, they timed out in CI; they run afterwards,
 * one at a time (`vitest.serial.config.ts`), when the machine is otherwise quiet.
 */
export const SERIAL_FILES = [
  "test/scale-out.test.ts",
  "test/migrate.test.ts",
  "test/crash.test.ts",
];
