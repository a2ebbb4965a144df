// An in-memory event store with optimistic concurrency, subscriptions and projections.

export interface StoredEvent<T = unknown> {
  readonly stream: string;
  readonly version: number;
  readonly type: string;
  readonly data: T;
  readonly recordedAt: Date;
}

export interface NewEvent<T = unknown> {
  type: string;
  data: T;
}

export type Listener = (event: StoredEvent) => void | Promise<void>;

export class ConcurrencyError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`stream ${stream}: expected version ${expected}, found ${actual}`);
    this.name = "ConcurrencyError";
  }
}

export const ANY_VERSION = -1;

interface Subscription {
  id: number;
  pattern: RegExp;
  listener: Listener;
}

export class EventStore {
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly log: StoredEvent[] = [];
  private subscriptions: Subscription[] = [];
  private nextSubscriptionId = 1;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** Append events to a stream if it is still at `expectedVersion`. */
  async append(stream: string, events: NewEvent[], expectedVersion = ANY_VERSION): Promise<number> {
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length;
    if (expectedVersion !== ANY_VERSION && expectedVersion !== current) {
      throw new ConcurrencyError(stream, expectedVersion, current);
    }
    const stored = events.map((event, index) => ({
      stream,
      version: current + index + 1,
      type: event.type,
      data: event.data,
      recordedAt: this.clock(),
    }));
    this.streams.set(stream, [...existing, ...stored]);
    this.log.push(...stored);
    for (const event of stored) {
      await this.publish(event);
    }
    return current + stored.length;
  }

  /** Read a stream from a version onwards (1-based, inclusive). */
  read(stream: string, fromVersion = 1): readonly StoredEvent[] {
    const events = this.streams.get(stream) ?? [];
    return events.slice(Math.max(0, fromVersion - 1));
  }

  /** Every event in the order it was recorded, optionally filtered by type. */
  *readAll(types?: ReadonlySet<string>): Generator<StoredEvent> {
    for (const event of this.log) {
      if (!types || types.has(event.type)) {
        yield event;
      }
    }
  }

  version(stream: string): number {
    return this.streams.get(stream)?.length ?? 0;
  }

  /** Listen to events of streams whose name matches `pattern`; returns an unsubscribe function. */
  subscribe(pattern: string | RegExp, listener: Listener): () => void {
    const regex = typeof pattern === "string" ? globToRegExp(pattern) : pattern;
    const id = this.nextSubscriptionId++;
    this.subscriptions.push({ id, pattern: regex, listener });
    return () => {
      this.subscriptions = this.subscriptions.filter((s) => s.id !== id);
    };
  }

  private async publish(event: StoredEvent): Promise<void> {
    const matching = this.subscriptions.filter((s) => s.pattern.test(event.stream));
    const results = await Promise.allSettled(matching.map((s) => s.listener(event)));
    for (const result of results) {
      if (result.status === "rejected") {
        console.warn(`listener failed on ${event.stream}#${event.version}:`, result.reason);
      }
    }
  }
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

export type Reducer<S> = (state: S, event: StoredEvent) => S;

/** A read model kept up to date by folding events into a state per stream. */
export class Projection<S> {
  private readonly states = new Map<string, S>();
  private unsubscribe?: () => void;

  constructor(
    private readonly initial: () => S,
    private readonly reducers: Record<string, Reducer<S>>,
  ) {}

  attach(store: EventStore, pattern: string): void {
    for (const event of store.readAll(new Set(Object.keys(this.reducers)))) {
      this.apply(event);
    }
    this.unsubscribe = store.subscribe(pattern, (event) => this.apply(event));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  get(stream: string): S | undefined {
    return this.states.get(stream);
  }

  entries(): [string, S][] {
    return [...this.states.entries()].sort(([a], [b]) => a.localeCompare(b));
  }

  private apply(event: StoredEvent): void {
    const reducer = this.reducers[event.type];
    if (!reducer) {
      return;
    }
    const state = this.states.get(event.stream) ?? this.initial();
    this.states.set(event.stream, reducer(state, event));
  }
}

// Example domain: shopping carts — items in, items out, checkout.
interface CartState {
  items: Map<string, number>;
  checkedOut: boolean;
}

export function cartProjection(): Projection<CartState> {
  return new Projection<CartState>(
    () => ({ items: new Map(), checkedOut: false }),
    {
      ItemAdded: (state, event) => {
        const { sku, quantity } = event.data as { sku: string; quantity: number };
        const items = new Map(state.items);
        items.set(sku, (items.get(sku) ?? 0) + quantity);
        return { ...state, items };
      },
      ItemRemoved: (state, event) => {
        const { sku } = event.data as { sku: string };
        const items = new Map(state.items);
        items.delete(sku);
        return { ...state, items };
      },
      CheckedOut: (state) => ({ ...state, checkedOut: true }),
    },
  );
}

export function totalQuantity(state: CartState): number {
  let total = 0;
  for (const quantity of state.items.values()) {
    total += quantity;
  }
  return total;
}
