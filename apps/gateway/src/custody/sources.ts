import { SOURCES } from "@mediagate/ledger";

/**
 * mesibo's `source` codes (0 message, 1 profile picture, 2 group picture, 3 thumbnail,
 * 99 unknown, 100 custom) by number or by name; older SDKs sent words. Anything else is the
 * app's own (custom).
 */
export const SOURCE_NAMES: Readonly<Record<string, number>> = {
  ...SOURCES,
  // Words older SDKs and apps send for the same things.
  picture: SOURCES.profile,
  "profile-picture": SOURCES.profile,
  "group-picture": SOURCES.group,
  thumb: SOURCES.thumbnail,
};

export function sourceCode(source: string): number {
  if (/^\d{1,9}$/.test(source)) return Number(source);
  return SOURCE_NAMES[source.toLowerCase()] ?? SOURCES.custom;
}
