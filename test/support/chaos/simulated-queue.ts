/**
 * SQS's semantics without SQS (moto's slows down superlinearly at thousands of messages), on a
 * virtual clock: a message is received in batches, stays invisible for the visibility timeout
 * when its item fails, counts its receives, and is moved to the DLQ on the receive after
 * maxReceiveCount, as a redrive policy does. A round takes as many batches as Lambda's concurrency
 * allows, so a backlog does not build up and starve the redeliveries.
 */
export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  batchSize: number;
  /** Batches taken per round (Lambda's concurrency for the queue, in virtual time). */
  concurrency: number;
  /** Of those, how many the harness really runs at once (the local AWS's limit, not Lambda's). */
  parallelism: number;
  /** Virtual time one round of batches takes: the poller's batching window plus the handling. */
  roundSeconds: number;
}

export interface QueuedMessage {
  id: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
}

/** Handles one batch; returns the ids to redeliver (SQS's batchItemFailures). */
export type BatchHandler = (batch: readonly QueuedMessage[]) => Promise<readonly string[]>;

export class SimulatedQueue {
  /** Virtual seconds since the run began. */
  now = 0;
  readonly deadLetters: QueuedMessage[] = [];
  receives = 0;
  redeliveries = 0;
  handlerErrors = 0;
  /** Sorted by visibleAt. */
  private messages: QueuedMessage[] = [];
  private nextId = 0;

  constructor(private readonly settings: QueueSettings) {}

  get depth(): number {
    return this.messages.length;
  }

  /** Enqueues `body`, visible from virtual time `at`. */
  send(body: string, at: number): void {
    this.insert({ id: `m-${this.nextId++}`, body, receiveCount: 0, visibleAt: at });
  }

  /** Moves every dead letter back to the queue, visible now, its receive count reset (SQS's DLQ redrive); returns how many. */
  redriveDeadLetters(): number {
    const moved = this.deadLetters.splice(0);
    for (const message of moved) this.insert({ ...message, receiveCount: 0, visibleAt: this.now });
    return moved.length;
  }

  /**
   * Runs rounds until virtual time `until` (or, when it is Infinity, until the queue is empty);
   * `beforeRound` sees the clock first, to start or end an outage.
   */
  async runUntil(until: number, handler: BatchHandler, beforeRound: (now: number) => void = () => {}): Promise<void> {
    const { batchSize, concurrency, roundSeconds } = this.settings;
    while (this.now < until) {
      const next = this.messages[0];
      if (!next) {
        if (until === Infinity) return;
        this.now = until;
        break;
      }
      if (next.visibleAt > this.now) {
        this.now = Math.min(next.visibleAt, until);
        continue;
      }
      beforeRound(this.now);
      const batches: QueuedMessage[][] = [];
      while (batches.length < concurrency && this.messages[0] && this.messages[0].visibleAt <= this.now) {
        const batch: QueuedMessage[] = [];
        while (batch.length < batchSize && this.messages[0] && this.messages[0].visibleAt <= this.now) {
          const message = this.messages.shift()!;
          message.receiveCount += 1;
          this.receives += 1;
          if (message.receiveCount > this.settings.maxReceiveCount) this.deadLetters.push(message);
          else batch.push(message);
        }
        if (batch.length) batches.push(batch);
      }
      for (let i = 0; i < batches.length; i += this.settings.parallelism) await Promise.all(batches.slice(i, i + this.settings.parallelism).map((batch) => this.handle(batch, handler)));
      this.now += roundSeconds;
    }
  }

  private async handle(batch: QueuedMessage[], handler: BatchHandler): Promise<void> {
    let failed: ReadonlySet<string>;
    try {
      failed = new Set(await handler(batch));
    } catch {
      // The function failed as a whole: SQS redelivers the entire batch.
      this.handlerErrors += 1;
      failed = new Set(batch.map((m) => m.id));
    }
    for (const message of batch) {
      if (!failed.has(message.id)) continue;
      this.redeliveries += 1;
      message.visibleAt = this.now + this.settings.visibilityTimeoutSeconds;
      this.insert(message);
    }
  }

  private insert(message: QueuedMessage): void {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.messages[mid]!.visibleAt <= message.visibleAt) lo = mid + 1;
      else hi = mid;
    }
    this.messages.splice(lo, 0, message);
  }
}
