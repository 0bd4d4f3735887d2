import type { EncodedForm } from "./form.ts";

/** What one attempt got back: the status, the one header the retry loop needs, the body. */
export interface Answer {
  status: number;
  retryAfter: string | null;
  text: string;
}

export interface SendOptions {
  signal: AbortSignal;
  /** Body bytes sent (XHR) or handed to fetch (Node) so far, and the body's size. */
  onProgress?: ((loaded: number, total: number) => void) | undefined;
  fetch: typeof globalThis.fetch;
}

/** Thrown when no answer arrived; the retry loop decides what it means. */
export class NoAnswer extends Error {
  override readonly name = "NoAnswer";
  readonly aborted: boolean;
  constructor(aborted: boolean, cause: unknown) {
    super(aborted ? "aborted" : "no answer", { cause });
    this.aborted = aborted;
  }
}

/** Slices handed to fetch in Node, so progress moves in steps this size at most. */
const CHUNK = 64 * 1024;

/**
 * fetch with the form as a stream, counting what fetch pulls from it: fetch reports no
 * upload progress, and pulling is what it does as the socket drains. Only for Node: browsers
 * send ReadableStream bodies over HTTP/2 only.
 */
export async function sendStreamed(url: string, form: EncodedForm, options: SendOptions) {
  const total = form.body.size;
  const reader = form.body.stream().getReader();
  let pending: Uint8Array | undefined;
  let loaded = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!pending?.byteLength) {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          pending = value;
        }
        const slice = pending.subarray(0, CHUNK);
        pending = pending.subarray(slice.byteLength);
        loaded += slice.byteLength;
        controller.enqueue(slice);
        options.onProgress?.(loaded, total);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    // Pull only when fetch asks, so `loaded` follows the socket rather than running ahead.
    { highWaterMark: 0 },
  );
  const init: RequestInit & { duplex: "half" } = {
    method: "POST",
    body,
    duplex: "half",
    headers: { "Content-Type": form.contentType, "Content-Length": String(total) },
    signal: options.signal,
  };
  return answerOf(options.fetch(url, init), options.signal);
}

/** fetch with a Blob body: browsers without a progress listener (so no preflight), and Node. */
export async function sendBlob(url: string, form: EncodedForm, options: SendOptions) {
  const request = options.fetch(url, {
    method: "POST",
    body: form.body,
    headers: { "Content-Type": form.contentType },
    signal: options.signal,
  });
  // No progress to report on the way: upload() reports the end once the answer is a success.
  return answerOf(request, options.signal);
}

async function answerOf(request: Promise<Response>, signal: AbortSignal): Promise<Answer> {
  try {
    const response = await request;
    return {
      status: response.status,
      retryAfter: response.headers.get("Retry-After"),
      text: await response.text(),
    };
  } catch (err) {
    throw new NoAnswer(signal.aborted, err);
  }
}

/** XMLHttpRequest: the one browser API that reports upload progress. */
export function sendXhr(url: string, form: EncodedForm, options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    try {
      start(resolve, reject);
    } catch (err) {
      reject(new NoAnswer(false, err));
    }
  });

  function start(resolve: (answer: Answer) => void, reject: (reason: NoAnswer) => void) {
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const settle = () => options.signal.removeEventListener("abort", onAbort);
    xhr.open("POST", url);
    xhr.responseType = "text";
    xhr.setRequestHeader("Content-Type", form.contentType);
    const { onProgress } = options;
    if (onProgress) {
      // Registered before send(): that is what makes the browser send a CORS preflight.
      xhr.upload.addEventListener("progress", (event) =>
        onProgress(event.loaded, event.lengthComputable ? event.total : form.body.size),
      );
    }
    xhr.addEventListener("load", () => {
      settle();
      resolve({
        status: xhr.status,
        retryAfter: xhr.getResponseHeader("Retry-After"),
        text: typeof xhr.response === "string" ? xhr.response : "",
      });
    });
    xhr.addEventListener("error", () => {
      settle();
      reject(new NoAnswer(false, new Error("XMLHttpRequest failed (network or CORS)")));
    });
    xhr.addEventListener("abort", () => {
      settle();
      reject(new NoAnswer(true, options.signal.reason));
    });
    if (options.signal.aborted) {
      reject(new NoAnswer(true, options.signal.reason));
      return;
    }
    options.signal.addEventListener("abort", onAbort, { once: true });
    xhr.send(form.body);
  }
}
