/** HTTP entity tags as HAPI and this facade use them: weak, naming a resource's version. */

/** The ETag (and If-Match value) for a resource version. */
export function weakEtag(version: string): string {
  return `W/"${version}"`;
}

/** The version an ETag such as `W/"3"` names; undefined when it is not one (HAPI versions are whole numbers). */
export function etagVersion(header: string): string | undefined {
  return /^(?:W\/)?"(\d{1,18})"$/.exec(header.trim())?.[1];
}
