/**
 * The one disposal helper: collects what must be disposed together and disposes it once, newest first (what was
 * created last may depend on what came before). Structural, so that it serves `vscode.Disposable`s and our own
 * objects alike without importing `vscode`.
 */
export interface Disposable {
  dispose(): unknown;
}

export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  /** Adds one item and returns it; an item added after disposal is disposed at once. */
  add<T extends Disposable>(item: T): T {
    if (this.disposed) void item.dispose();
    else this.items.push(item);
    return item;
  }

  /** Adds a function to run on disposal. */
  addCallback(callback: () => unknown): void {
    this.add({ dispose: callback });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const items = this.items.reverse();
    this.items = [];
    for (const item of items) void item.dispose();
  }
}
