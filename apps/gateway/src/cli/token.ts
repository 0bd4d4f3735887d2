import { parseArgs } from "node:util";
import { mintUploadToken, parseDuration } from "@mediagate/tokens";
import { mergeEnv, readDotenvFile } from "../config/load.ts";
import { gatewayEnvSchema } from "../config/schema.ts";

const USAGE = `Usage: mediagate token --uid <mesibo uid> [--ttl 24h]

Prints an upload token for AUTH_MODE=signed, minted with the newest secret in
AUTH_SIGNING_SECRETS (read from the environment or a .env file, like the gateway).
--ttl takes s, m, h, d or w (default 24h). Your app's server should mint tokens itself
with @mediagate/tokens; this command is for trying things out and for scripts.`;

/**
 * `mediagate token --uid 42 --ttl 24h`: prints one token on stdout and returns the exit
 * status (2 for a usage or configuration error, with one line on stderr).
 */
export function runTokenCommand(args: string[], baseDir: string): number {
  const fail = (message: string) => {
    process.stderr.write(`mediagate token: ${message}\n`);
    return 2;
  };
  let values: { uid?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        uid: { type: "string" },
        ttl: { type: "string", default: "24h" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.uid || !/^\d{1,20}$/.test(values.uid)) {
    return fail("--uid must be a mesibo user id (digits)");
  }
  const ttlSeconds = parseDuration(values.ttl ?? "24h");
  if (ttlSeconds === undefined) return fail("--ttl must be a duration like 15m, 24h or 7d");

  let env;
  try {
    env = mergeEnv(readDotenvFile(baseDir), process.env);
  } catch (err) {
    return fail((err as Error).message);
  }
  const raw = env.AUTH_SIGNING_SECRETS?.trim() ? env.AUTH_SIGNING_SECRETS : undefined;
  if (!raw) return fail("AUTH_SIGNING_SECRETS is not set (in the environment or .env)");
  const parsed = gatewayEnvSchema(["fs"])
    .pick({ AUTH_SIGNING_SECRETS: true })
    .safeParse({ AUTH_SIGNING_SECRETS: raw });
  const secret = parsed.data?.AUTH_SIGNING_SECRETS?.[0];
  if (!parsed.success || !secret) {
    const issue = parsed.error?.issues[0]?.message ?? "is empty";
    return fail(`AUTH_SIGNING_SECRETS ${issue}`);
  }
  process.stdout.write(`${mintUploadToken({ secret, uid: values.uid, ttlSeconds })}\n`);
  return 0;
}
