/**
 * The ids of our records: every record is stored as a FHIR resource, so an id follows FHIR's id
 * type (1-64 letters, digits, '-' and '.'). ID_PATTERN is unanchored, for reference patterns and
 * JSON Schemas to be built from.
 */
export const ID_PATTERN = String.raw`[A-Za-z0-9\-.]{1,64}`;

const ID = new RegExp(`^${ID_PATTERN}$`);

export function isId(value: string): boolean {
  return ID.test(value);
}
