/** JSON values as stored in the ledger and exchanged with providers (a leaf: every layer may import it). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };
