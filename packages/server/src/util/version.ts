/** Gatehouse's version, as `gatehouse --version`, the start banner and the OpenAPI document say it (util/version.test.ts holds it to package.json). */
export const VERSION = '0.1.0';
