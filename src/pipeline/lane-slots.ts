/**
 * Describe lanes as slots taken and given back explicitly (p-limit only runs
 * one function per slot): an item takes a lane before it claims its image
 * and gives it back once the image is described and stored, so a claim is
 * held only by an item that can start working on it at once, never by one
 * queued behind the lanes while other machines' lanes stand idle.
 */
export class LaneSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Waits for a free lane; the returned function gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
