/** A configuration problem, with the key path that is wrong and what to do about it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
