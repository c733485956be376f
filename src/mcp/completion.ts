/**
 * `completion/complete`: provider names, playback types, models, templates, platforms and task ids,
 * for prompt arguments and resource-template variables. The lists come from the providers configured
 * here (their capabilities and `choices`) and from the ledger; nothing is asked of a provider over the network.
 * An unknown prompt or template gets an empty list (completion is a hint, never an error).
 */
import type { CompleteResult, McpServer } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import type { TaskKind } from '../providers/provider.js';

/** What an argument holds, whatever the prompt or template calls it. */
export type ValueKind = 'provider' | 'playback_type' | 'model' | 'template' | 'platform' | 'task_id';

export interface CompletionRef {
  /** Argument name -> value kind. */
  args: Record<string, ValueKind>;
  /** Providers offered for `provider` arguments: those serving this kind of job. */
  kind?: TaskKind;
}

const MAX = 100;

export class Completer {
  private readonly prompts = new Map<string, CompletionRef>();
  private readonly templates = new Map<string, CompletionRef>();

  constructor(private readonly app: Pick<App, 'providers' | 'ledger'>) {}

  prompt(name: string, ref: CompletionRef): void {
    this.prompts.set(name, ref);
  }

  template(uriTemplate: string, ref: CompletionRef): void {
    this.templates.set(uriTemplate, ref);
  }

  /** The candidate values of one kind (context: the other arguments already chosen). */
  async values(
    kind: ValueKind,
    typed: string,
    context: Record<string, string> = {},
    jobKind?: TaskKind,
  ): Promise<string[]> {
    const providers = [...this.app.providers.values()];
    const chosen = context.provider ? providers.filter((p) => p.name === context.provider) : providers;
    let all: string[];
    switch (kind) {
      case 'provider':
        all = providers.filter((p) => !jobKind || p.capabilities.kinds.includes(jobKind)).map((p) => p.name);
        break;
      case 'playback_type':
        all = chosen.flatMap((p) => p.capabilities.playbackTypes ?? []);
        break;
      case 'model':
      case 'template':
      case 'platform':
        all = chosen.flatMap((p) => p.choices?.[kind] ?? []);
        break;
      case 'task_id':
        return this.app.ledger.idsStartingWith(typed, MAX);
    }
    const low = typed.toLowerCase();
    return [...new Set(all)].filter((v) => v.toLowerCase().startsWith(low)).slice(0, MAX);
  }

  async complete(params: {
    ref: { type: string; name?: string; uri?: string };
    argument: { name: string; value: string };
    context?: { arguments?: Record<string, string> };
  }): Promise<CompleteResult> {
    const ref =
      params.ref.type === 'ref/prompt'
        ? this.prompts.get(params.ref.name ?? '')
        : this.templates.get(params.ref.uri ?? '');
    const kind = ref?.args[params.argument.name];
    const values = kind
      ? await this.values(kind, params.argument.value, params.context?.arguments ?? {}, ref?.kind)
      : [];
    return { completion: { values, total: values.length, hasMore: false } };
  }

  /** Serves `completion/complete` on this server (replacing the SDK's per-registration handler). */
  install(server: McpServer): void {
    server.server.registerCapabilities({ completions: {} });
    server.server.setRequestHandler('completion/complete', async (req) =>
      this.complete(req.params as Parameters<Completer['complete']>[0]),
    );
  }
}
