import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type CompleteMultipartUploadCommandOutput,
  type PutObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { PartQueue, PartReader, StorageError, type Metadata } from "@mediagate/core";
import type { Readable } from "node:stream";
import type { UploadRequests } from "./upload-requests.ts";

/** S3 allows at most 10,000 parts per multipart upload. */
export const MAX_PARTS = 10_000;

export interface ObjectParams {
  bucket: string;
  /** The S3 key (prefix already applied). */
  key: string;
  /** The key as the caller named it, for error messages. */
  callerKey: string;
  contentType: string;
  contentDisposition: string | undefined;
  /** Already encoded for headers. */
  metadata: Metadata;
  partSize: number;
  queueSize: number;
}

/**
 * Sends a body as one object: a single PutObject when it ends within one part, else a
 * multipart upload with `queueSize` parts on the wire at once, completed once the body has
 * ended. Every request goes through `requests`, which stops the write on the first failure;
 * undoing what was sent is the caller's job.
 *
 * Not lib-storage's `Upload`: it joins every part into a freshly allocated buffer, and V8
 * frees those lazily, so a gateway streaming one 512 MiB file held some 100 MiB more than
 * its part buffers. Here part buffers are recycled (`PartQueue`), so a write allocates
 * queueSize + 1 of them whatever the body's size.
 */
export async function sendParts(
  requests: UploadRequests,
  body: Readable,
  params: ObjectParams,
): Promise<PutObjectCommandOutput | CompleteMultipartUploadCommandOutput> {
  const { client, signal: stop } = requests;
  const reader = new PartReader(body, params.partSize);
  const described = {
    Bucket: params.bucket,
    Key: params.key,
    ContentType: params.contentType,
    ContentDisposition: params.contentDisposition,
    Metadata: params.metadata,
  };
  const first = await reader.nextParts(stop);
  if (reader.bytesRead < params.partSize || !(await reader.hasMore(stop))) {
    const Body = first.length === 1 && first[0] ? first[0] : Buffer.concat(first);
    return client.send(new PutObjectCommand({ ...described, Body }));
  }

  // As lib-storage does: a store asked for checksums expects them declared up front.
  const checksums = (await client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
  const checksum = checksums ? { ChecksumAlgorithm: "CRC32" as const } : {};
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ ...described, ...checksum }),
  );
  if (!UploadId) throw missing(params, "CreateMultipartUpload did not return an UploadId");
  const queue = new PartQueue<CompletedPart>(params.partSize, params.queueSize, stop);
  const uploadPart = async (PartNumber: number, Body: Buffer): Promise<CompletedPart> => {
    const answer = await client.send(
      new UploadPartCommand({
        Bucket: params.bucket,
        Key: params.key,
        UploadId,
        PartNumber,
        Body,
        ...checksum,
      }),
    );
    if (!answer.ETag) throw missing(params, `part ${PartNumber} came back without an ETag`);
    return {
      PartNumber,
      ETag: answer.ETag,
      ...(answer.ChecksumCRC32 && { ChecksumCRC32: answer.ChecksumCRC32 }),
    };
  };

  let part: Buffer | undefined = join(first, queue.freeBuffer());
  while (part) {
    if (queue.length >= MAX_PARTS) throw tooManyParts(params);
    const body = part;
    const number = queue.length + 1;
    await queue.add(body, () => uploadPart(number, body));
    // Asked first, so the end of the body never costs a fresh part buffer.
    part = (await reader.hasMore(queue.readSignal))
      ? await reader.next(queue.readSignal, queue.freeBuffer())
      : undefined;
  }
  const parts = await queue.finish();
  return client.send(
    new CompleteMultipartUploadCommand({
      Bucket: params.bucket,
      Key: params.key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/** The first part's chunks, copied into one (pooled) part buffer they exactly fill. */
function join(chunks: Buffer[], into: Buffer): Buffer {
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(into, at);
  return into;
}

function tooManyParts(params: ObjectParams): StorageError {
  return new StorageError(
    "InvalidArgument",
    `write "${params.callerKey}": the body needs more than ${MAX_PARTS} parts of ${params.partSize} bytes; raise partSize (or declare the length, which sizes parts to fit).`,
    { operation: "write", key: params.callerKey },
  );
}

function missing(params: ObjectParams, what: string): StorageError {
  return new StorageError("Internal", `write "${params.callerKey}": ${what}.`, {
    operation: "write",
    key: params.callerKey,
  });
}
