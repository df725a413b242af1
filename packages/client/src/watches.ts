// The client's record of its watches: which watcher waits for what on which path, which of them
// an event fires (and ends), and the lists that restore them on a new connection.

/** What happened to a watched node. The `…Removed` types come from `removeWatches()`. */
export type WatchEventType =
  | "created"
  | "deleted"
  | "dataChanged"
  | "childrenChanged"
  | "dataWatchRemoved"
  | "childWatchRemoved"
  | "persistentWatchRemoved";

/** A watch notification. */
export interface WatchEvent {
  type: WatchEventType;
  /** The node's path, relative to the chroot. */
  path: string;
}

/** Called once per event it watches; one-shot watches end with their first event. */
export type Watcher = (event: WatchEvent) => void;

/**
 * The kinds of watch: `data` (getData, or exists on a node that exists), `exist` (exists on a
 * missing node), `child` (getChildren), and the two kinds of `addWatch()` that stay until removed.
 */
export type WatchKind = "data" | "exist" | "child" | "persistent" | "persistentRecursive";

const kinds: readonly WatchKind[] = ["data", "exist", "child", "persistent", "persistentRecursive"];

/** The event types a server sends. */
export type ServerEventType = "created" | "deleted" | "dataChanged" | "childrenChanged";

/** The server's numbers for them (Watcher.Event.EventType). */
export const serverEventTypes: ReadonlyMap<number, ServerEventType> = new Map([
  [1, "created"],
  [2, "deleted"],
  [3, "dataChanged"],
  [4, "childrenChanged"],
]);

/** Which one-shot kinds an event ends (ZooKeeper's rules, as the Java client applies them). */
const oneShotKindsFiredBy: Record<ServerEventType, WatchKind[]> = {
  created: ["data", "exist"],
  dataChanged: ["data", "exist"],
  childrenChanged: ["child"],
  deleted: ["data", "exist", "child"],
};

export class WatchRegistry {
  readonly #watches: Record<WatchKind, Map<string, Set<Watcher>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };
  /** The watching requests sent and not yet answered, by kind and path (see `expect`). */
  readonly #pending: Record<WatchKind, Map<string, number>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  /**
   * Counts a request that sets a watch of `kind` on `path` from now until the returned function
   * runs (when it is answered or failed). Its watcher is added only with the answer, but the server
   * sets the watch when it reads the request: a removal sent meanwhile must count it as there.
   */
  expect(kind: WatchKind, path: string): () => void {
    const byPath = this.#pending[kind];
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    return () => {
      const left = byPath.get(path)! - 1;
      if (left === 0) byPath.delete(path);
      else byPath.set(path, left);
    };
  }

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const byPath = this.#watches[kind];
    const watchers = byPath.get(path);
    if (watchers) watchers.add(watcher);
    else byPath.set(path, new Set([watcher]));
  }

  /** The watchers an event at `path` reaches, each once; one-shot ones are forgotten. */
  fire(type: ServerEventType, path: string): Set<Watcher> {
    const fired = new Set<Watcher>();
    for (const kind of oneShotKindsFiredBy[type]) {
      const watchers = this.#watches[kind].get(path);
      if (!watchers) continue;
      this.#watches[kind].delete(path);
      for (const watcher of watchers) fired.add(watcher);
    }
    for (const watcher of this.#watches.persistent.get(path) ?? []) fired.add(watcher);
    // A recursive watch hears about its node and every descendant, except changes of children
    // (a child's creation or deletion is reported as that node's event).
    if (type !== "childrenChanged") {
      for (let at = path; ; at = parentOf(at)) {
        for (const watcher of this.#watches.persistentRecursive.get(at) ?? []) fired.add(watcher);
        if (at === "/") break;
      }
    }
    return fired;
  }

  /** Whether `watcher` (or, without one, any watcher) of one of `of` is on `path`. */
  has(path: string, of: readonly WatchKind[], watcher?: Watcher): boolean {
    return of.some((kind) => {
      const watchers = this.#watches[kind].get(path);
      return watchers !== undefined && (watcher === undefined || watchers.has(watcher));
    });
  }

  /**
   * Whether removing `watcher` from `of` at `path` would leave none of those kinds there, nor any
   * on its way (see `expect`).
   */
  lastOf(path: string, of: readonly WatchKind[], watcher: Watcher): boolean {
    return of.every((kind) => {
      if (this.#pending[kind].has(path)) return false;
      const watchers = this.#watches[kind].get(path);
      return watchers === undefined || (watchers.size === 1 && watchers.has(watcher));
    });
  }

  /** Forgets `watcher` (or every watcher) of `of` at `path`; returns what was removed, by kind. */
  remove(path: string, of: readonly WatchKind[], watcher?: Watcher): Map<WatchKind, Watcher[]> {
    const removed = new Map<WatchKind, Watcher[]>();
    for (const kind of of) {
      const watchers = this.#watches[kind].get(path);
      if (!watchers) continue;
      const gone = watcher === undefined ? [...watchers] : watchers.has(watcher) ? [watcher] : [];
      for (const w of gone) watchers.delete(w);
      if (watchers.size === 0) this.#watches[kind].delete(path);
      if (gone.length > 0) removed.set(kind, gone);
    }
    return removed;
  }

  /** The watched paths by kind, for setWatches on a new connection. */
  paths(): Record<WatchKind, string[]> {
    return Object.fromEntries(kinds.map((kind) => [kind, [...this.#watches[kind].keys()]])) as Record<
      WatchKind,
      string[]
    >;
  }

  get empty(): boolean {
    return kinds.every((kind) => this.#watches[kind].size === 0);
  }

  clear(): void {
    for (const kind of kinds) this.#watches[kind].clear();
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}
