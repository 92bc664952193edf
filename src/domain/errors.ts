/** A PHB rule was broken. `field` is a JSON pointer into the input that broke it. */
export class DomainError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly kind: 'invalid' | 'business-rule' = 'invalid',
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
