/** One bad field of a configuration file: its JSON pointer (empty for the whole document) and what is wrong. */
export interface FileProblem {
  pointer: string;
  message: string;
}

/** A configuration file that cannot be used; the message names the file and each bad field's JSON pointer. */
export class ConfigFileError extends Error {
  constructor(
    /** What the file is, as the message starts: "Sign-off policy", "Publish destinations". */
    readonly what: string,
    readonly file: string,
    readonly problems: FileProblem[],
  ) {
    super(`${what} ${file}:\n  ${problems.map((p) => `${p.pointer || '(document)'}: ${p.message}`).join('\n  ')}`);
    this.name = 'ConfigFileError';
  }
}
