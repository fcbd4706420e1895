import type { ServiceBase } from './service-base.js';

/**
 * A service rebuilt from its factory on every `reset()`, so options read from a reloaded
 * configuration take effect when the launcher restarts it on SIGHUP (a plain service keeps the
 * options it was created with).
 */
export class ReloadableService<S extends ServiceBase = ServiceBase> implements ServiceBase {
  readonly #factory: () => S | Promise<S>;
  #current: S;

  private constructor(factory: () => S | Promise<S>, first: S) {
    this.#factory = factory;
    this.#current = first;
  }

  /** Builds the first service. */
  static async create<S extends ServiceBase>(
    factory: () => S | Promise<S>,
  ): Promise<ReloadableService<S>> {
    return new ReloadableService(factory, await factory());
  }

  /** The service in use now. */
  get current(): S {
    return this.#current;
  }

  start(): Promise<void> {
    return this.#current.start();
  }

  stop(): Promise<void> {
    return this.#current.stop();
  }

  wait(): Promise<void> {
    return this.#current.wait();
  }

  async kill(): Promise<void> {
    await this.#current.kill?.();
  }

  /** Resets the old service, then builds a new one from the (reloaded) configuration. */
  async reset(): Promise<void> {
    await this.#current.reset();
    this.#current = await this.#factory();
  }
}
