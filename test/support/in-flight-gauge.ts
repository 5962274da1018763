/**
 * Counts operations open at once and the most that ever were, for a load bound such as "at most
 * N writes in flight at the API server" (the bench's `mesh` section reads one at the Kubernetes
 * API double). Knows nothing of HTTP: whoever watches opens on arrival and closes on the answer.
 */
export class InFlightGauge {
  private open = 0;
  private highest = 0;
  private entered = 0;

  /** Opens one operation; the function returned closes it (once, however often it is called). */
  enter(): () => void {
    this.open += 1;
    this.entered += 1;
    this.highest = Math.max(this.highest, this.open);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.open -= 1;
    };
  }

  /** Operations open now. */
  get current(): number {
    return this.open;
  }

  /** The most operations ever open at once. */
  get peak(): number {
    return this.highest;
  }

  /** Operations opened in all. */
  get total(): number {
    return this.entered;
  }
}
