// The one way this process sends commands to its peering aggregates: by remote cluster id, through
// the generic handler, one at a time per stream (see queue.ts).
import type { HandledCommand, HandlerPorts } from './handle.js';
import { handleCommand } from './handle.js';
import { incomingDecider, initialState as incomingInitial } from './incoming/decider.js';
import { outgoingDecider, initialState as outgoingInitial } from './outgoing/decider.js';
import type { IncomingCommand } from './incoming/commands.js';
import type { OutgoingCommand } from './outgoing/commands.js';
import type { IncomingState } from './incoming/state.js';
import type { OutgoingState } from './outgoing/state.js';
import { podsDecider, initialState as podsInitial } from './pods/decider.js';
import type { PodsCommand } from './pods/commands.js';
import type { PodsState } from './pods/state.js';
import { createStreamQueue } from './queue.js';
import { streamIdOf } from './registry.js';

export interface CommandBus {
  outgoing(remoteClusterId: string, command: OutgoingCommand): Promise<HandledCommand>;
  incoming(remoteClusterId: string, command: IncomingCommand): Promise<HandledCommand>;
  loadOutgoing(remoteClusterId: string): Promise<OutgoingState>;
  loadIncoming(remoteClusterId: string): Promise<IncomingState>;
  /** The pods offloaded through the virtual node of one provider (stream pods-<remoteId>). */
  pods(remoteClusterId: string, command: PodsCommand): Promise<HandledCommand>;
  loadPods(remoteClusterId: string): Promise<PodsState>;
}

export function createCommandBus(ports: HandlerPorts): CommandBus {
  const queue = createStreamQueue();
  return {
    outgoing(remote, command) {
      const id = streamIdOf('outgoing', remote);
      return queue.run(id, () => handleCommand(ports, outgoingDecider, { id, type: 'outgoing' }, command));
    },
    incoming(remote, command) {
      const id = streamIdOf('incoming', remote);
      return queue.run(id, () => handleCommand(ports, incomingDecider, { id, type: 'incoming' }, command));
    },
    pods(remote, command) {
      const id = streamIdOf('pods', remote);
      return queue.run(id, () => handleCommand(ports, podsDecider, { id, type: 'pods' }, command));
    },
    // Observations read the pods state often, and it may be megabytes: the state this process
    // appended last is it (only this process's operator writes pods streams), read from the store
    // only when there is none. A state read stale at worst sends a command the decider finds satisfied.
    async loadPods(remote) {
      const id = streamIdOf('pods', remote);
      return (ports.cache?.get<PodsState>(id) ?? await ports.store.load<PodsState>(id))?.state ?? podsInitial;
    },
    loadOutgoing: async (remote) => (await ports.store.load<OutgoingState>(streamIdOf('outgoing', remote)))?.state ?? outgoingInitial,
    loadIncoming: async (remote) => (await ports.store.load<IncomingState>(streamIdOf('incoming', remote)))?.state ?? incomingInitial,
  };
}
