/**
 * The one evicting cache of the project: a map bounded by a number of entries and by bytes, oldest first out. What
 * counts as "oldest" is insertion order, refreshed by {@link BoundedCache.use} (least recently used) but not by
 * {@link BoundedCache.get}, so a store that lists its entries newest first can use it too.
 */
export interface BoundedCacheOptions<V> {
  /** At most this many entries (unbounded when absent). */
  maxEntries?: number;
  /** At most this many bytes, as `sizeOf` counts them (unbounded when absent); a function is read at each `set`. */
  maxBytes?: number | (() => number);
  sizeOf?: (value: V) => number;
  /** Called for every entry evicted to make room (not for `delete` or `clear`). */
  onEvict?: (key: unknown, value: V) => void;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private totalBytes = 0;

  constructor(private readonly options: BoundedCacheOptions<V> = {}) {}

  /** Adds or replaces an entry (it becomes the newest), then evicts the oldest until the bounds hold. The entry just set is never evicted, even when it alone exceeds the byte bound. */
  set(key: K, value: V): void {
    this.delete(key);
    const bytes = this.options.sizeOf?.(value) ?? 0;
    this.entries.set(key, { value, bytes });
    this.totalBytes += bytes;
    const { maxEntries = Infinity } = this.options;
    const maxBytes = typeof this.options.maxBytes === 'function' ? this.options.maxBytes() : (this.options.maxBytes ?? Infinity);
    for (const [oldKey, entry] of this.entries) {
      if (this.entries.size <= maxEntries && this.totalBytes <= maxBytes) break;
      if (oldKey === key) continue;
      this.entries.delete(oldKey);
      this.totalBytes -= entry.bytes;
      this.options.onEvict?.(oldKey, entry.value);
    }
  }

  /** The entry, without changing its age. */
  get(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** The entry, made the newest (least-recently-used eviction). */
  use(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Values, oldest first. */
  *values(): IterableIterator<V> {
    for (const entry of this.entries.values()) yield entry.value;
  }

  /** Keys, oldest first. */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
