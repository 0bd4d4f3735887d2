/**
 * Azure's rules for what an operator configures, checked up front so a typo fails at
 * start-up with a sentence instead of a 400 from the first upload. Free of the SDK, so the
 * gateway can validate its environment without loading it. Messages never quote secrets.
 */

/** Why `name` is not a valid container name, or undefined when it is. */
export function containerNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9-]+$/.test(name)) return "may only contain lowercase letters, digits and hyphens";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return "must start and end with a letter or digit";
  }
  if (name.includes("--")) return "must not contain two hyphens in a row";
  return undefined;
}

/** Why `name` is not a valid storage account name, or undefined when it is. */
export function accountNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9]{3,24}$/.test(name)) return "must be 3 to 24 lowercase letters and digits";
  return undefined;
}

/** Why `token` is not a SAS token (`sv=…&sig=…`, with or without `?`), or undefined. */
export function sasTokenProblem(token: string): string | undefined {
  const params = new URLSearchParams(token.trim().replace(/^\?/, ""));
  if (!params.get("sig") || !params.get("sv")) {
    return "must be a SAS query string with at least sv= and sig= (as the portal or az CLI prints it)";
  }
  return undefined;
}

/** Why `endpoint` is not a usable blob account URL, or undefined when it is. */
export function endpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "must be an http or https URL like https://myaccount.blob.core.windows.net";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return "must be an http or https URL like https://myaccount.blob.core.windows.net";
  }
  if (url.search || url.hash)
    return "must not carry a query or fragment; give a SAS token separately";
  return undefined;
}

/**
 * Why `value` is not a blob connection string the SDK can use, or undefined. Accepted: an
 * account key string (AccountName + AccountKey), a SAS string (SharedAccessSignature +
 * BlobEndpoint), or `UseDevelopmentStorage=true`.
 */
export function connectionStringProblem(value: string): string | undefined {
  const parts = new Map<string, string>();
  for (const pair of value.split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) parts.set(pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim());
  }
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") return undefined;
  const endpoint = parts.get("blobendpoint");
  if (endpoint !== undefined && endpointProblem(endpoint))
    return "has a BlobEndpoint that is not an http(s) URL";
  if (parts.has("sharedaccesssignature")) {
    return endpoint ? undefined : "has a SharedAccessSignature but no BlobEndpoint";
  }
  if (!parts.get("accountname") || !parts.get("accountkey")) {
    return "must hold AccountName and AccountKey, or BlobEndpoint and SharedAccessSignature (copy it from the portal's Access keys page)";
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(parts.get("accountkey") ?? ""))
    return "has an AccountKey that is not base64";
  return undefined;
}
