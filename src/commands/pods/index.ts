// The pods aggregate, one per virtual node: stream pods-<remoteId>.
export * from './commands.js';
export * from './state.js';
export { decide, evolve, isTerminal, podsDecider } from './decider.js';
