// One line per event for people following a peering: what happened, in the words of the step.
import type { EventEnvelope } from '../events/envelope.js';

type Data = Record<string, unknown> & { resources?: Record<string, string> };

function res(r: Record<string, string> | undefined): string {
  return r ? `${r.cpu} CPU, ${r.memory} memory, ${r.pods} pods` : '';
}

export function describeEvent(e: EventEnvelope): string {
  const d = e.data as unknown as Data;
  const what = ((): string => {
    switch (e.type) {
      case 'PeeringRequested': return `peering requested with ${String(d.remoteClusterName)} at ${String(d.authUrl)}`;
      case 'IdentityRequested': return 'key and CSR forged; identity requested';
      case 'CertIssued': return `identity issued: tenant namespace ${String(d.tenantNamespace)}, valid until ${String(d.notAfter)}`;
      case 'AuthenticationFailed': return `authentication failed: ${String(d.reason)}${d.httpStatus ? ` (HTTP ${String(d.httpStatus)})` : ''}`;
      case 'ResourceRequested': return `ResourceRequest replicated to ${String(d.tenantNamespace)}`;
      case 'OfferReceived': return `offer ${String(d.offerName)} received: ${res(d.resources)}`;
      case 'OfferAccepted': return `offer ${String(d.offerName)} accepted`;
      case 'OfferRefused': return `offer ${String(d.offerName)} refused (${String(d.reason)})`;
      case 'VirtualNodeCreated': return `virtual node ${String(d.nodeName)} created: ${res(d.resources)}`;
      case 'VirtualNodeReady': return `virtual node ${String(d.nodeName)} Ready`;
      case 'UnpeeringRequested': return `unpeering requested${d.force ? ', forced' : d.drain === false ? ', without a drain' : ''}`;
      case 'VirtualNodeCordoned': return `virtual node ${String(d.nodeName)} cordoned`;
      case 'VirtualNodeDrainWaiting': return `drain waits (${String(d.reason)}, ${String(d.remaining)} pod(s) left): ${String(d.message)}`;
      case 'VirtualNodeDrained': return `virtual node ${String(d.nodeName)} drained`;
      case 'VirtualNodeDeleted': return `virtual node ${String(d.nodeName)} and its Lease deleted`;
      case 'ResourceRequestWithdrawn': return d.providerReached ? `ResourceRequest withdrawn from ${String(d.tenantNamespace)}` : `the provider was not reached: its request and objects stay there${d.notice ? '; a signed withdrawal notice is kept for the next contact' : ''}`;
      case 'PeeringTerminated': return `peering terminated; identity removed${d.force ? ' (forced)' : ''}`;
      case 'ProviderEndedPeering': return `the provider ended the peering (${String(d.reason)}): ${String(d.message)}`;
      case 'WithdrawalDelivered': return `the provider answered the withdrawal notice: ${String(d.outcome)} (${String(d.message)})`;
      default: return JSON.stringify(d).slice(0, 200);
    }
  })();
  return `${e.type.padEnd(20)} ${what}`;
}

export function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1).padStart(5)}s`;
}
