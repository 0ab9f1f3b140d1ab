/**
 * The relay-mode entry of @par-proxy/client: the SPA holds the tokens, and the proxy signs, pushes
 * and redeems for it (client/par-login.ts), with DPoP when the proxy runs DPOP=true (client/dpop.ts).
 */
export * from './par-login.ts';
export { createProof, dpopKey, indexedDbKeyStore, type DpopKey, type DpopKeyStore } from './dpop.ts';
