import { KiB, MiB } from "./units.ts";

/**
 * What a chat service's uploads look like (issue 13): mostly voice notes, photos and
 * thumbnails, some larger images and short clips, a few videos.
 */
export const MIX_CLASSES = [
  { share: 0.7, min: 16 * KiB, max: 64 * KiB, label: "16–64 KiB" },
  { share: 0.25, min: 200 * KiB, max: 2 * MiB, label: "200 KiB–2 MiB" },
  { share: 0.05, min: 8 * MiB, max: 32 * MiB, label: "8–32 MiB" },
] as const;

/** mulberry32: a tiny seeded generator, so every process derives the same sequence. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The chat mix's file sizes, in the order they are sent: the same seed gives every system
 * the same files in the same order, round after round.
 */
export function mixSizes(count: number, seed: number): number[] {
  const next = generator(seed);
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const pick = next();
    let chosen: (typeof MIX_CLASSES)[number] = MIX_CLASSES[2];
    let floor = 0;
    for (const c of MIX_CLASSES) {
      floor += c.share;
      if (pick < floor) {
        chosen = c;
        break;
      }
    }
    sizes.push(chosen.min + Math.floor(next() * (chosen.max - chosen.min + 1)));
  }
  return sizes;
}
