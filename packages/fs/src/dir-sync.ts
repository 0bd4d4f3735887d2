import { constants } from "node:fs";
import { fsyncFd, type Io } from "./io.ts";

interface FolderState {
  running?: Promise<void>;
  queued?: Promise<void>;
}

/**
 * fsyncs folders, so the entries made in them survive a power loss, with concurrent requests
 * for one folder sharing an fsync: a request is covered by any fsync of that folder that
 * *starts* after it was made, so while one runs, every new request waits for the single next
 * one. Sixteen uploads into the day's folder then cost one or two folder fsyncs, not sixteen.
 */
export class DirSyncer {
  readonly #folders = new Map<string, FolderState>();
  readonly #io: () => Io;

  constructor(io: () => Io) {
    this.#io = io;
  }

  sync(dir: string): Promise<void> {
    let state = this.#folders.get(dir);
    if (!state) {
      state = {};
      this.#folders.set(dir, state);
    }
    const { running } = state;
    if (!running) return this.#start(dir, state);
    const current = state;
    current.queued ??= running
      .catch(() => undefined)
      .then(() => {
        current.queued = undefined;
        return this.#start(dir, current);
      });
    return current.queued;
  }

  #start(dir: string, state: FolderState): Promise<void> {
    const running = syncFolder(this.#io(), dir).finally(() => {
      if (state.running !== running) return;
      state.running = undefined;
      if (!state.queued) this.#folders.delete(dir);
    });
    state.running = running;
    return running;
  }
}

/** One fsync of a folder. */
export async function syncFolder(io: Io, dir: string): Promise<void> {
  const fd = await io.open(dir, constants.O_RDONLY | constants.O_DIRECTORY, 0);
  try {
    await fsyncFd(fd);
  } finally {
    await io.close(fd);
  }
}
