/**
 * Location and device metadata stripped while uploads stream, on every backend: a photo
 * with GPS written by exiftool and a video with a location written by ffmpeg come back
 * without them, still decode, keep their orientation, and say what was removed; a file with
 * nothing to strip is stored byte for byte; STRIP_METADATA chooses the sources.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { postForm, send } from "./support/http.ts";

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let dir: string;
/** A rotated JPEG with GPS, a serial number and a comment; the same without any of it. */
let photo: Buffer;
let clean: Buffer;
/** An MP4 with a location (moov at the end, as phones record). */
let video: Buffer;

async function exif(bytes: Buffer, name: string): Promise<Record<string, unknown>> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const { stdout } = await run("exiftool", ["-json", "-a", "-G1", path]);
  return (JSON.parse(stdout) as Record<string, unknown>[])[0] ?? {};
}

const keysMatching = (tags: Record<string, unknown>, pattern: RegExp) =>
  Object.keys(tags).filter((k) => pattern.test(k));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-strip-e2e-"));
  const jpg = join(dir, "photo.jpg");
  await run("convert", ["-size", "64x48", "gradient:red-blue", jpg]);
  clean = await readFile(jpg);
  await run("exiftool", [
    "-overwrite_original",
    "-GPSLatitude=48.8584",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=2.2945",
    "-GPSLongitudeRef=E",
    "-SerialNumber=SN-1234567",
    "-Make=Phone",
    "-Model=Camera 9",
    "-Orientation#=6",
    "-Comment=taken at home",
    jpg,
  ]);
  photo = await readFile(jpg);
  const mp4 = join(dir, "clip.mp4");
  await run("ffmpeg", [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc=duration=1:size=64x48:rate=5",
    "-metadata",
    "location=+48.8584+002.2945/",
    "-c:v",
    "mpeg4",
    mp4,
  ]);
  video = await readFile(mp4);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the fixtures", () => {
  it("carry what is to be stripped", async () => {
    expect(keysMatching(await exif(photo, "in.jpg"), /GPS/)).not.toHaveLength(0);
    const tags = await exif(video, "in.mp4");
    expect(JSON.stringify(tags)).toMatch(/48\.85|GPS/);
  });
});

for (const fixture of backends) {
  describe(`metadata stripping on ${fixture.name}`, () => {
    const session = new BackendSession(fixture);
    beforeAll(() => session.start({ STRIP_METADATA: "message,group" }), 60_000);
    afterAll(() => session.stop());

    const upload = async (body: Buffer, filename: string, source = "0") => {
      const answer = await postForm(`${session.gateway.url}/upload`, [
        { name: "op", value: "upload" },
        { name: "auth", value: TOKEN },
        { name: "uid", value: "7" },
        { name: "mid", value: "1" },
        { name: "source", value: source },
        { name: "file", filename, type: "application/octet-stream", body },
      ]);
      expect(answer.status, answer.text).toBe(200);
      const url = (answer.json as { url: string }).url;
      const download = await send(session.local(url));
      return { url, body: download.body, info: await session.adapter.stat(session.keyOf(url)) };
    };

    it("strips GPS, serial, make and comments from a photo, keeping its orientation", async () => {
      const { body, info } = await upload(photo, "IMG_1.jpg");
      const tags = await exif(body, `${fixture.name}-out.jpg`);
      expect(keysMatching(tags, /GPS|Serial|MakerNote|Make|Model|Comment/)).toEqual([]);
      expect(String(tags["IFD0:Orientation"])).toMatch(/Rotate 90/);
      await run("identify", [join(dir, `${fixture.name}-out.jpg`)]);
      expect(info.metadata.stripped).toMatch(/^jpeg removed=.*gps/);
      expect(info.metadata.sha256).toBe(sha256(body));
      expect(info.metadata.size).toBe(String(body.length));
    });

    it("strips a video's location and the video still decodes", async () => {
      const { body, info } = await upload(video, "VID_1.mp4");
      expect(body.length).toBe(video.length);
      const path = join(dir, `${fixture.name}-out.mp4`);
      await writeFile(path, body);
      const { stdout } = await run("exiftool", ["-json", "-a", path]);
      expect(stdout).not.toMatch(/48\.85|GPSCoordinates/);
      await run("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"]);
      expect(info.metadata.stripped).toMatch(/^mp4 removed=/);
    });

    it("stores a file with nothing to strip byte for byte", async () => {
      const { body, info } = await upload(clean, "clean.jpg");
      expect(sha256(body)).toBe(sha256(clean));
      expect(info.metadata.stripped).toBeUndefined();
    });

    it("leaves sources STRIP_METADATA does not name alone", async () => {
      const { body } = await upload(photo, "profile.jpg", "1");
      expect(sha256(body)).toBe(sha256(photo));
    });
  });
}
