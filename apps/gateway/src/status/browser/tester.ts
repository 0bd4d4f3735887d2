/**
 * The page's upload tester: one file through @mediagate/client, the way an app's page
 * uploads, to this gateway's /upload. The client's modules are served by the gateway under
 * /status/client/ and loaded only when the first upload starts.
 */

/** What the tester uses of @mediagate/client (its own types stay out of the gateway build). */
interface Client {
  upload(
    file: Blob,
    options: {
      url: string;
      token: string;
      uid?: string;
      retry: false;
      onProgress: (progress: { loaded: number; total: number }) => void;
    },
  ): Promise<{ url: string }>;
}

import {
  byId,
  document,
  location,
  type ButtonElement,
  type InputElement,
  type ProgressElement,
} from "./dom.ts";

const CLIENT_URL = "/status/client/index.js";

let client: Promise<Client> | undefined;

/** Wires the tester's form; `uploaded` runs after each upload, whatever its outcome. */
export function startTester(uploaded: () => void): void {
  const form = byId("upload-form");
  const button = byId<ButtonElement>("upload-button");
  const progress = byId<ProgressElement>("upload-progress");
  const result = byId("upload-result");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = byId<InputElement>("upload-token").value.trim();
    const uid = byId<InputElement>("upload-uid").value.trim();
    const file = byId<InputElement>("upload-file").files?.[0];
    if (!file || token === "") return;
    button.disabled = true;
    progress.max = 1;
    progress.value = 0;
    result.className = "";
    result.textContent = `Uploading ${file.name}…`;
    void send(file, token, uid)
      .then((url) => {
        const link = document.createElement("a");
        link.href = url;
        link.id = "upload-url";
        link.textContent = url;
        result.className = "ok";
        result.replaceChildren("Stored: ", link);
      })
      .catch((err: unknown) => {
        const { code, message } = err as { code?: unknown; message?: unknown };
        result.className = "error";
        result.replaceChildren(
          "Failed: ",
          Object.assign(document.createElement("code"), {
            id: "upload-error",
            textContent: typeof code === "string" ? code : "ERROR",
          }),
          typeof message === "string" ? ` ${message}` : "",
        );
      })
      .finally(() => {
        button.disabled = false;
        // Refused or stored, the counters moved.
        uploaded();
      });

    async function send(file: File, token: string, uid: string): Promise<string> {
      client ??= import(CLIENT_URL).catch((err: unknown) => {
        client = undefined;
        throw Object.assign(new Error("The upload client could not be loaded."), {
          code: "CLIENT_UNAVAILABLE",
          cause: err,
        });
      }) as Promise<Client>;
      const { url } = await (
        await client
      ).upload(file, {
        url: new URL("/upload", location.href).href,
        token,
        ...(uid !== "" && { uid }),
        // The tester shows what the gateway answers, not what a retry hides.
        retry: false,
        onProgress: ({ loaded, total }) => {
          progress.max = total;
          progress.value = loaded;
        },
      });
      return url;
    }
  });
}
