/**
 * `completion/complete`: provider names, playback types, models, templates, platforms and task ids,
 * for prompt arguments and resource-template variables. The lists come from the providers configured
 * here (their capabilities and `choices`) and from the ledger; nothing is asked of a provider over the network.
 * An unknown prompt or template gets an empty list (completion is a hint); a value longer than any
 * real one is invalid params. `total` and `hasMore` are honest: all that match, not just those sent.
 */

import type { CompleteResult, McpServer } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { inTurn } from '../jobs/turns.js';
import type { TaskKind } from '../providers/provider.js';

/** What an argument holds, whatever the prompt or template calls it. */
export type ValueKind = 'provider' | 'playback_type' | 'model' | 'template' | 'platform' | 'task_id';

export interface CompletionRef {
  /** Argument name -> value kind, or the fixed values it may take. */
  args: Record<string, ValueKind | readonly string[]>;
  /** Providers offered for `provider` arguments: those serving this kind of job. */
  kind?: TaskKind;
}

/** Values sent at most (the protocol's limit). */
const MAX = 100;
/** The longest value completed: longer than any task id, provider, model or template name. */
export const MAX_VALUE_CHARS = 256;

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

  /** The candidate values of one kind (context: the other arguments already chosen), and how many match. */
  async values(
    kind: ValueKind | readonly string[],
    typed: string,
    context: Record<string, string> = {},
    jobKind?: TaskKind,
  ): Promise<{ values: string[]; total: number }> {
    if (kind === 'task_id') {
      const { ids, total } = await inTurn(() => this.app.ledger.idsStartingWith(typed, MAX));
      return { values: ids, total };
    }
    const low = typed.toLowerCase();
    const all = [...new Set(this.candidates(kind, context, jobKind))].filter((v) =>
      v.toLowerCase().startsWith(low),
    );
    return { values: all.slice(0, MAX), total: all.length };
  }

  private candidates(
    kind: Exclude<ValueKind, 'task_id'> | readonly string[],
    context: Record<string, string>,
    jobKind?: TaskKind,
  ): readonly string[] {
    if (typeof kind !== 'string') return kind;
    const providers = [...this.app.providers.values()];
    const chosen = context.provider ? providers.filter((p) => p.name === context.provider) : providers;
    switch (kind) {
      case 'provider':
        return providers.filter((p) => !jobKind || p.capabilities.kinds.includes(jobKind)).map((p) => p.name);
      case 'playback_type':
        return chosen.flatMap((p) => p.capabilities.playbackTypes ?? []);
      case 'model':
      case 'template':
      case 'platform':
        return chosen.flatMap((p) => p.choices?.[kind] ?? []);
    }
  }

  async complete(params: {
    ref: { type: string; name?: string; uri?: string };
    argument: { name: string; value: string };
    context?: { arguments?: Record<string, string> };
  }): Promise<CompleteResult> {
    if (params.argument.value.length > MAX_VALUE_CHARS)
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `The value to complete is too long (${params.argument.value.length} characters; at most ${MAX_VALUE_CHARS}).`,
      );
    const ref =
      params.ref.type === 'ref/prompt'
        ? this.prompts.get(params.ref.name ?? '')
        : this.templates.get(params.ref.uri ?? '');
    const kind = ref?.args[params.argument.name];
    const { values, total } = kind
      ? await this.values(kind, params.argument.value, params.context?.arguments ?? {}, ref?.kind)
      : { values: [], total: 0 };
    return { completion: { values, total, hasMore: total > values.length } };
  }

  /** Serves `completion/complete` on this server (replacing the SDK's per-registration handler). */
  install(server: McpServer): void {
    server.server.registerCapabilities({ completions: {} });
    server.server.setRequestHandler('completion/complete', async (req) =>
      this.complete(req.params as Parameters<Completer['complete']>[0]),
    );
  }
}
