// oidc-provider ships no types; the tests use its constructor and Koa callback only.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: unknown);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}

// Its in-memory adapter, which the tests extend to read client ID metadata documents.
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export default class MemoryAdapter {
    constructor(model: string);
    model: string;
    find(id: string): Promise<unknown>;
  }
}
