import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { LOOPBACK_TLS, startAzurite } from "../../src/azurite.ts";

/** Whether something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("startAzurite (test infrastructure)", () => {
  it("answers as Azurite on a free port, and stop() leaves nothing listening", async () => {
    const azurite = await startAzurite();
    expect(azurite.blobEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
    expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobEndpoint};`);
    const response = await fetch(`${azurite.blobEndpoint}?comp=list`);
    expect(response.headers.get("x-ms-request-id")).toBeTruthy();
    await azurite.stop();
    expect(await listening(azurite.port)).toBe(false);
    await azurite.stop(); // idempotent
  });

  it("serves https with the loopback certificate when asked for Entra ID", async () => {
    const azurite = await startAzurite({ entraId: true });
    try {
      expect(azurite.blobEndpoint.startsWith("https://127.0.0.1:")).toBe(true);
      // Verified against LOOPBACK_TLS only: the certificate really is the fixture's.
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${azurite.blobEndpoint}?comp=list`,
          { ca: LOOPBACK_TLS.cert },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(status).toBeGreaterThanOrEqual(400); // anonymous: refused, but answered over TLS
    } finally {
      await azurite.stop();
    }
  });
});
