import { z } from "zod";
import { booleanField } from "./fields.ts";
import { documented } from "./docs.ts";
import { auth, browsers, download, server, upload } from "./vars-http.ts";
import { custody, limits, operations, privacy } from "./vars-custody.ts";

export { describeVars, docOf, documented, type VarDoc } from "./docs.ts";
export {
  AUTH_MODES,
  DOWNLOAD_MODES,
  MIN_SIGNING_SECRET_BYTES,
  MIN_TOKEN_LENGTH,
  type AuthMode,
} from "./vars-http.ts";

/** The storage variables every backend shares; each backend's own are in its provider. */
function storage(providerNames: readonly [string, ...string[]]) {
  return {
    STORAGE_PROVIDER: documented(
      z
        .string()
        .trim()
        .default("fs")
        .refine((name) => providerNames.includes(name), {
          message: `must be one of ${providerNames.join(", ")}`,
        }),
      {
        section: "storage",
        default: "`fs`",
        description: "`fs`, `s3`, `gcs` or `azure`; each backend's variables are below",
      },
    ),
    STORAGE_CREATE_BUCKET: documented(booleanField.optional(), {
      section: "storage",
      default: "`true` for `fs`, else `false`",
      description: "create the folder / bucket / container at start when missing",
    }),
  };
}

/**
 * Every variable the gateway itself reads. The selected provider's own variables are
 * validated by its `env` schema (see storage/providers). Input values are strings as in
 * process.env; unset and empty variables take the defaults.
 */
export function gatewayEnvSchema(providerNames: readonly [string, ...string[]]) {
  return z.object({
    ...server,
    ...auth,
    ...upload,
    ...download,
    ...browsers,
    ...limits,
    ...custody,
    ...privacy,
    ...operations,
    ...storage(providerNames),
  });
}

export type GatewayEnv = z.output<ReturnType<typeof gatewayEnvSchema>>;

/** README sections, in the order their tables appear. */
export const SECTIONS = {
  storage: "Storage",
  server: "Server",
  auth: "Authentication",
  upload: "Uploads",
  download: "Downloads",
  browsers: "Browsers",
  limits: "Rate limits",
  custody: "Data custody",
  privacy: "Encryption and metadata",
  operations: "Operations",
} as const;
