const TOKEN = "[a-z0-9!#$&^_.+-]+";
const MEDIA_TYPE = new RegExp(`^(${TOKEN}/${TOKEN})\\s*(;\\s*charset="?([a-z0-9_-]+)"?)?`, "i");

export const FALLBACK_TYPE = "application/octet-stream";

/**
 * The type to store for a part's declared Content-Type: `type/subtype` lower-cased, keeping
 * only a charset parameter; anything unparseable becomes application/octet-stream.
 */
export function normalizeContentType(declared: string | undefined): string {
  const match = MEDIA_TYPE.exec((declared ?? "").trim());
  if (!match?.[1]) return FALLBACK_TYPE;
  const type = match[1].toLowerCase();
  return match[3] ? `${type}; charset=${match[3].toLowerCase()}` : type;
}

/** Whether `type` matches one of the patterns (`image/jpeg`, `image/*`); no patterns: any. */
export function isAllowedType(type: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return true;
  const bare = type.split(";")[0]?.trim() ?? "";
  return patterns.some((pattern) =>
    pattern.endsWith("/*") ? bare.startsWith(pattern.slice(0, -1)) : bare === pattern,
  );
}
