export { ERROR_REGISTRY, isErrorCode, type ErrorCode } from './registry.js';
export { GatehouseError, StoreUnavailableError, isStorageFullError, type GatehouseErrorOptions } from './gatehouse-error.js';
export { toProblem, problemType, PROBLEM_CONTENT_TYPE, type ProblemDocument } from './problem.js';
