/**
 * A manager of your own run the way `conductor run` runs the conductor: its options beside the
 * framework's, a configuration file, the ops endpoint, signals and a clean exit status.
 *
 *   npm run example:runner                    # Ctrl-C (or SIGTERM) stops it; exit status 0
 *   CONDUCTOR_DEMO_SECONDS=3 npm run example:runner
 *   CONDUCTOR_GREETER__WORD=bonjour npm run example:runner
 *
 * While it runs, `curl -s 127.0.0.1:9411/tasks` shows its task. With
 * `CONDUCTOR_DEFAULT__TRANSPORT_URL=rabbit://guest:guest@127.0.0.1:5672/` it also answers
 * `conductor rpc call --set control_exchange=openstack --topic GREETER --transport-url
 * rabbit://guest:guest@127.0.0.1:5672/ greeting who=you` (the exchange: oslo's default here, Tacker's
 * `tacker` is the `conductor` command's).
 */
import { defineOptions, opt } from 'conductor-ts/config';
import { getLogger, type RequestContext } from 'conductor-ts/core';
import { periodicTask } from 'conductor-ts/periodic';
import { runnerConfig, runService } from 'conductor-ts/runner';
import { Manager, type ManagerOptions } from 'conductor-ts/service';

/** `[greeter]`: this manager's own options, defined once, here. */
const greeterOptions = defineOptions({
  group: 'greeter',
  label: 'greeter option',
  options: {
    word: opt.string({ default: 'hello', help: 'What the greeter says.' }),
    every: opt.int({ default: 2, min: 1, help: 'Seconds between two greetings.' }),
  },
});

class Greeter extends Manager {
  static override readonly configOptions = [greeterOptions];
  readonly #word: string;
  readonly #log = getLogger('greeter');

  constructor(options: ManagerOptions & { conf?: Parameters<typeof greeterOptions.read>[0] }) {
    const g = options.conf ? greeterOptions.read(options.conf) : greeterOptions.defaults;
    super({ ...options, spacing: { greet: g.every } });
    this.#word = g.word;
  }

  @periodicTask({ spacing: 2, runImmediately: true })
  greet(_ctx: RequestContext): void {
    this.#log.info(`${this.#word} from ${this.host}`);
  }

  /** Callable over RPC: `greeting(ctx, { who })`. */
  greeting(_ctx: RequestContext, args: { who?: string }): string {
    return `${this.#word} ${args.who ?? 'world'}`;
  }
}

const conf = runnerConfig(Greeter);
await conf.load({
  cli: { 'ops.listen': '127.0.0.1:9411', periodic_fuzzy_delay: '0', report_interval: '0' },
});
const seconds = Number(process.env['CONDUCTOR_DEMO_SECONDS']);
if (seconds > 0) setTimeout(() => process.kill(process.pid, 'SIGTERM'), seconds * 1000).unref();
process.exitCode = await runService({
  manager: Greeter,
  topic: 'GREETER',
  conf,
  binary: 'greeter',
});
