import { describe, expect, it } from "vitest";
import { contentDisposition } from "../src/download/headers.ts";
import { cleanFileName } from "../src/upload/metadata.ts";

describe("file names", () => {
  it.each([
    ["invoice\u202Egpj.exe", "invoicegpj.exe"],
    ["a\u200Bb\u200Dc\uFEFF.jpg", "abc.jpg"],
    ["line\u2028break\u2029.txt", "linebreak.txt"],
    ["tab\tand\u0000nul.txt", "tabandnul.txt"],
    ["../../etc/passwd", "passwd"],
    ["C:\\Users\\me\\photo.jpg", "photo.jpg"],
    ["Résumé.pdf", "Résumé.pdf"],
  ])("keeps %j as %j", (given, kept) => {
    expect(cleanFileName(given)).toBe(kept);
  });

  it("never sends an invisible override back in Content-Disposition", () => {
    const header = contentDisposition("inline", "invoice\u202Egpj.exe");
    expect(header).not.toMatch(/%E2%80%AE/i);
    expect(header).toContain('filename="invoicegpj.exe"');
  });
});
