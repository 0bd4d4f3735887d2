import { describe, expect, it } from "vitest";
import { verifySigV4 } from "../../src/s3/sigv4.ts";

/**
 * The verifier against the worked examples in Amazon's S3 documentation ("Authenticating
 * Requests: Using the Authorization Header" and "…: Using Query Parameters"), so it is
 * checked against AWS rather than against the SDK it is meant to check.
 */
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const secretFor = (id: string) => (id === "AKIAIOSFODNN7EXAMPLE" ? SECRET : undefined);
const AT = Date.UTC(2013, 4, 24, 0, 0, 0);

const getObject = {
  method: "GET",
  url: "/test.txt",
  rawHeaders: [
    "Host",
    "examplebucket.s3.amazonaws.com",
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    "Range",
    "bytes=0-9",
    "x-amz-content-sha256",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-amz-date",
    "20130524T000000Z",
  ],
};

const presigned = {
  method: "GET",
  url:
    "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
  rawHeaders: ["Host", "examplebucket.s3.amazonaws.com"],
};

describe("SigV4 verification (test infrastructure)", () => {
  it("accepts AWS's header-signed GetObject example", () => {
    expect(verifySigV4(getObject, secretFor, AT)).toBeUndefined();
  });

  it("accepts AWS's presigned URL example until it expires", () => {
    expect(verifySigV4(presigned, secretFor, AT + 1000)).toBeUndefined();
    expect(verifySigV4(presigned, secretFor, AT + 86_401_000)).toMatchObject({
      status: 403,
      code: "AccessDenied",
    });
  });

  it("rejects the example with another key in the path, header or query", () => {
    expect(verifySigV4({ ...getObject, url: "/test%20.txt" }, secretFor, AT)).toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    const rangeChanged = getObject.rawHeaders.map((v) => (v === "bytes=0-9" ? "bytes=0-10" : v));
    expect(verifySigV4({ ...getObject, rawHeaders: rangeChanged }, secretFor, AT)).toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    const url = presigned.url.replace("X-Amz-Expires=86400", "X-Amz-Expires=86401");
    expect(verifySigV4({ ...presigned, url }, secretFor, AT)).toMatchObject({
      code: "SignatureDoesNotMatch",
    });
  });

  it("rejects unknown keys, skewed clocks and expiries over seven days", () => {
    expect(verifySigV4(getObject, () => undefined, AT)).toMatchObject({
      code: "InvalidAccessKeyId",
    });
    expect(verifySigV4(getObject, secretFor, AT + 16 * 60 * 1000)).toMatchObject({
      code: "RequestTimeTooSkewed",
    });
    const url = presigned.url.replace("X-Amz-Expires=86400", "X-Amz-Expires=604801");
    expect(verifySigV4({ ...presigned, url }, secretFor, AT)).toMatchObject({
      status: 400,
      code: "AuthorizationQueryParametersError",
    });
  });

  it("lets anonymous requests through (the server decides about those)", () => {
    expect(
      verifySigV4({ method: "GET", url: "/b/k", rawHeaders: ["Host", "x"] }, secretFor, AT),
    ).toBeUndefined();
  });
});
