/**
 * A small bounded map of already-verified passports: token -> value valid until `expiresAtMs`.
 * Eviction follows Map insertion order (oldest first); an entry is checked against the clock on
 * every hit and dropped once expired. Only successes are stored, never failures.
 */
export class VerifiedCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly #max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 0) throw new TypeError('cacheMax must be a non-negative integer');
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAtMs: number, nowMs: number): void {
    if (this.#max === 0 || nowMs >= expiresAtMs) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAtMs });
  }

  clear(): void {
    this.#entries.clear();
  }
}
