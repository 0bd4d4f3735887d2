import fc from "fast-check";

/**
 * fast-check generators of malformed and hostile multipart requests: odd or missing
 * boundaries, broken part headers, empty, nested (`a[b][c]`) and huge-index (`a[99999999]`)
 * field names, duplicate fields, several files, truncation and garbage at random offsets.
 * Some come out well formed with a valid token, so the storage path is fuzzed too.
 */
export interface HostileRequest {
  contentType: string | undefined;
  body: Buffer;
  /** How the body was made, for a failing case's report. */
  recipe: string[];
}

const FIELD_NAMES = [
  "op",
  "auth",
  "uid",
  "mid",
  "source",
  "file",
  "",
  " ",
  "a[b][c][d][e][f][g][h][i][j][k][l][m][n][o]",
  "a[99999999]",
  "a[]",
  "[]",
  "a[b",
  "__proto__",
  "__proto__[polluted]",
  "constructor[prototype][polluted]",
  "op[]",
  "uid[0]",
  "ñame\u0000",
];

const fieldName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80, unit: "binary" }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constant(""), fc.nat({ max: 2 ** 31 }).map(String), fc.string()), {
        maxLength: 30,
      })
      .map((path) => `x${path.map((p) => `[${p}]`).join("")}`),
  },
);

const fieldValue = (token: string) =>
  fc.oneof(
    fc.constantFrom("upload", token, "42", "1001", "message", "", "-1", "9".repeat(40)),
    fc.string({ maxLength: 200, unit: "binary" }),
  );

const headerQuote = fc.constantFrom('"', "", "'");

interface PartSpec {
  name: string;
  value: string;
  filename: string | undefined;
  partType: string | undefined;
  extraHeader: string | undefined;
  quote: string;
  bodyBytes: Uint8Array | undefined;
}

const part = (token: string): fc.Arbitrary<PartSpec> =>
  fc.record({
    name: fieldName,
    value: fieldValue(token),
    filename: fc.option(
      fc.oneof(
        fc.constantFrom("", "a.jpg", "../../etc/passwd", "a\u0000.png", "x".repeat(300)),
        fc.string({ maxLength: 60, unit: "binary" }),
      ),
      { nil: undefined, freq: 2 },
    ),
    partType: fc.option(
      fc.constantFrom("image/png", "text/html", "", "application/octet-stream", "a/b/c", ";;"),
      { nil: undefined },
    ),
    extraHeader: fc.option(
      fc.constantFrom(
        "Content-Transfer-Encoding: base64",
        "X-Junk: " + "y".repeat(2000),
        "Content-Disposition: form-data; name=second",
        "NoColonHeader",
        ": empty-name",
      ),
      { nil: undefined, freq: 4 },
    ),
    quote: headerQuote,
    bodyBytes: fc.option(fc.uint8Array({ maxLength: 4096 }), { nil: undefined }),
  });

function renderPart(boundary: string, p: PartSpec): Buffer {
  const q = p.quote;
  let disposition = `Content-Disposition: form-data; name=${q}${p.name}${q}`;
  if (p.filename !== undefined) disposition += `; filename=${q}${p.filename}${q}`;
  const headers = [disposition];
  if (p.partType !== undefined) headers.push(`Content-Type: ${p.partType}`);
  if (p.extraHeader !== undefined) headers.push(p.extraHeader);
  const body =
    p.filename !== undefined ? Buffer.from(p.bodyBytes ?? []) : Buffer.from(p.value, "latin1");
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\n${headers.join("\r\n")}\r\n\r\n`, "latin1"),
    body,
    Buffer.from("\r\n"),
  ]);
}

const boundaryArb = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/) },
  // RFC 2046 allows these too, but only quoted in the header (tspecials).
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "x".repeat(200), "--", "a b", '"q"') },
);

type Mutation =
  | { kind: "none" }
  | { kind: "truncate"; at: number }
  | { kind: "garbage"; at: number; bytes: Uint8Array }
  | { kind: "dropCrlf"; nth: number }
  | { kind: "noClosing" }
  | { kind: "closingTwice" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("garbage" as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dropCrlf" as const), nth: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "noClosing" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "closingTwice" as const }) },
);

function mutate(body: Buffer, boundary: string, m: Mutation): Buffer {
  switch (m.kind) {
    case "none":
      return body;
    case "truncate":
      return body.subarray(0, m.at % (body.length + 1));
    case "garbage": {
      const at = m.at % (body.length + 1);
      return Buffer.concat([body.subarray(0, at), Buffer.from(m.bytes), body.subarray(at)]);
    }
    case "dropCrlf": {
      let at = -1;
      for (let i = 0; i <= m.nth; i++) {
        const next = body.indexOf("\r\n", at + 1);
        if (next < 0) break;
        at = next;
      }
      return at < 0 ? body : Buffer.concat([body.subarray(0, at), body.subarray(at + 2)]);
    }
    case "noClosing": {
      const closing = Buffer.from(`--${boundary}--\r\n`);
      return body.subarray(0, Math.max(0, body.length - closing.length));
    }
    case "closingTwice":
      return Buffer.concat([body, Buffer.from(`--${boundary}--\r\n`)]);
  }
}

const contentTypeFor = (boundary: string) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(`multipart/form-data; boundary=${boundary}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `multipart/form-data; boundary="${boundary}"`,
        "multipart/form-data",
        "multipart/form-data; boundary=",
        `multipart/form-data; boundary=${boundary}; boundary=other`,
        `multipart/mixed; boundary=${boundary}`,
        `multipart/form-data; charset=utf-16; boundary=${boundary}`,
        "application/x-www-form-urlencoded",
        "text/plain",
        undefined,
      ),
    },
  );

/** A mesibo-shaped form (fields then one file) that hostile parts are mixed into. */
const mesiboParts = (token: string): PartSpec[] =>
  (
    [
      ["op", "upload"],
      ["auth", token],
      ["uid", "42"],
      ["mid", "1001"],
      ["source", "message"],
    ] as const
  ).map(([name, value]) => ({
    name,
    value,
    filename: undefined,
    partType: undefined,
    extraHeader: undefined,
    quote: '"',
    bodyBytes: undefined,
  }));

export function hostileRequest(token: string): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      boundary: boundaryArb,
      base: fc.constantFrom("mesibo", "mesibo", "mesibo", "random"),
      hostile: fc.array(part(token), { maxLength: 6 }),
      insertAt: fc.nat(),
      file: fc.option(fc.uint8Array({ maxLength: 8192 }), { nil: undefined, freq: 6 }),
      mutation,
    })
    .chain((spec) =>
      contentTypeFor(spec.boundary).map((contentType) => {
        const parts = spec.base === "mesibo" ? mesiboParts(token) : [];
        const at = spec.insertAt % (parts.length + 1);
        parts.splice(at, 0, ...spec.hostile);
        if (spec.file !== undefined) {
          parts.push({
            name: "file",
            value: "",
            filename: "photo.bin",
            partType: "application/octet-stream",
            extraHeader: undefined,
            quote: '"',
            bodyBytes: spec.file,
          });
        }
        const whole = Buffer.concat([
          ...parts.map((p) => renderPart(spec.boundary, p)),
          Buffer.from(`--${spec.boundary}--\r\n`),
        ]);
        return {
          contentType,
          body: mutate(whole, spec.boundary, spec.mutation),
          recipe: [
            `content-type: ${contentType}`,
            `base: ${spec.base}, hostile parts: ${spec.hostile.length} [${spec.hostile
              .map((p) => JSON.stringify(p.name))
              .join(", ")}], file: ${spec.file?.length ?? "none"}`,
            `mutation: ${spec.mutation.kind}`,
          ],
        };
      }),
    );
}
