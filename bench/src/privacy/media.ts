/**
 * The media the stripping cost is measured with: a photo and a video as phones make them,
 * carrying a location, made once per run with the tools operators know (ImageMagick,
 * ffmpeg, exiftool) rather than checked-in fixtures, so their sizes follow `--quick`.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface MediaFile {
  /** "photo" or "video", for the table. */
  label: string;
  name: string;
  /** What a mesibo client declares for the file part (the gateway sniffs the bytes anyway). */
  type: string;
  path: string;
  /**
   * Held in memory: a few MiB, sent N times, and reading it from disk on every upload would
   * put the bench's own file reads into the timed loop.
   */
  bytes: Buffer;
}

/** The tags that give away where a file was made (Exif and XMP GPS, XMP city, QuickTime ©xyz and keys). */
const LOCATION_TAG = /gps|location|coordinates|city/i;

async function tool(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(
      missing
        ? `${command} is not installed (the privacy benchmark needs ImageMagick, ffmpeg and exiftool)`
        : `${command} ${args.join(" ")} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * The photos measured: a camera original (12 MP, about 3 MiB), the photo a chat app sends
 * after scaling it down (about 0.5 MiB), and a thumbnail (tens of KiB): the 16 KiB–2 MiB
 * images the stripping target speaks of, and the largest a phone makes.
 */
const PHOTOS = [
  { label: "photo", size: "4032x3024", quick: "800x600" },
  { label: "chat photo", size: "1600x1200", quick: "400x300" },
  { label: "thumbnail", size: "320x240", quick: "160x120" },
];

/**
 * A JPEG with what a phone writes: GPS in Exif and XMP, make, model, a serial number, an
 * orientation (which stripping keeps). Plasma noise compresses like a photo, so the size is
 * a real photo's at that resolution.
 */
async function makePhoto(
  dir: string,
  quick: boolean,
  spec: (typeof PHOTOS)[number],
): Promise<MediaFile> {
  const path = join(dir, `${spec.label.replace(/ /g, "-")}.jpg`);
  const size = quick ? spec.quick : spec.size;
  await tool("convert", ["-seed", "7", "-size", size, "plasma:fractal", "-quality", "90", path]);
  await tool("exiftool", [
    "-q",
    "-overwrite_original",
    "-n",
    "-Make=Apple",
    "-Model=iPhone 15 Pro",
    "-SerialNumber=F17XK2Q9ABCD",
    "-Orientation=1",
    "-DateTimeOriginal=2026:01:02 10:11:12",
    "-GPSLatitude=48.8584",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=2.2945",
    "-GPSLongitudeRef=E",
    "-GPSAltitude=35",
    "-XMP-exif:GPSLatitude=48.8584",
    "-XMP-exif:GPSLongitude=2.2945",
    "-XMP-photoshop:City=Paris",
    path,
  ]);
  return {
    label: spec.label,
    name: "IMG_0001.jpg",
    type: "image/jpeg",
    path,
    bytes: await readFile(path),
  };
}

/**
 * An H.264 + AAC MP4 of 10 s at about 9 Mbit/s (quick: 1 s, small) with the location, make,
 * model and software in `keys` entries as an iPhone writes them, the moov at the end as a
 * recording leaves it. Noise keeps the encoder at its bit rate, so the size is a phone
 * clip's (about 11 MiB).
 */
async function makeVideo(dir: string, quick: boolean): Promise<MediaFile> {
  const path = join(dir, "video.mp4");
  const [size, seconds, rate] = quick ? ["320x240", "1", "1M"] : ["1280x720", "10", "9M"];
  const apple = "com.apple.quicktime";
  await tool("ffmpeg", [
    ...["-v", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=30`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ...["-t", seconds, "-vf", "noise=alls=24:allf=t"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ...["-b:v", rate, "-maxrate", rate, "-bufsize", rate],
    ...["-c:a", "aac", "-b:a", "128k"],
    ...["-movflags", "+use_metadata_tags"],
    ...["-metadata", `${apple}.location.ISO6709=+48.8584+002.2945+035.000/`],
    ...["-metadata", `${apple}.make=Apple`, "-metadata", `${apple}.model=iPhone 15 Pro`],
    ...["-metadata", `${apple}.software=17.1.2`, "-metadata", "creation_time=2026-01-02T10:11:12Z"],
    path,
  ]);
  return {
    label: "video",
    name: "VID_0001.mp4",
    type: "video/mp4",
    path,
    bytes: await readFile(path),
  };
}

/** The photos, largest first, then the video. */
export async function makeMedia(dir: string, quick: boolean): Promise<MediaFile[]> {
  return Promise.all([...PHOTOS.map((spec) => makePhoto(dir, quick, spec)), makeVideo(dir, quick)]);
}

/** The location tags exiftool finds in a file ("Group:Tag"), empty when there are none. */
export async function locationTags(path: string): Promise<string[]> {
  const json = await tool("exiftool", ["-json", "-G1", "-a", path]);
  const [tags] = JSON.parse(json) as Record<string, unknown>[];
  return Object.keys(tags ?? {}).filter((name) => LOCATION_TAG.test(name));
}
