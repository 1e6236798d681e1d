export type { RateLimitResult, RateLimitRule, RateLimitStore } from '../types.js';
export { MemoryRateLimitStore } from './memory-rate-limit-store.js';
