import { encryptObject } from "@mediagate/encryption";
import type { UploadHook } from "../upload/store.ts";
import type { UidKeys } from "./keys.ts";

/** The object metadata that carries an encrypted object's envelope (its wrapped data key). */
export const ENVELOPE = "enc";

/**
 * ENCRYPTION=on in the store step: after the hash (the recorded sha256 and size are the
 * plaintext's), the bytes are sealed with a fresh data key per object, wrapped by the
 * uploader's uid key. The object's storage key is the stream's associated data, so a
 * ciphertext moved to another key does not open.
 */
export function encryptionHook(keys: UidKeys): UploadHook {
  return {
    async encode(upload) {
      const uidKey = await keys.forUpload(upload.fields.uid ?? null);
      const sealed = encryptObject(uidKey, { associatedData: upload.key });
      upload.metadata[ENVELOPE] = sealed.envelope;
      return sealed.stream;
    },
  };
}
