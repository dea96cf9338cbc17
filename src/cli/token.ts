// `peerlog token`: this cluster's peering token (created once), its authentication URL, and the
// command a consumer runs to peer with it. `--rotate` replaces the token: the old one stops working.
// The command reads the token from a file: a token in argv shows in `ps` and stays in shell history.
import { ALL_SETTINGS, configFlags, loadConfig, sourceFrom } from '../config.js';
import { createKubeClient } from '../adapters/kubernetes/client.js';
import { loadKubeConfig } from '../adapters/kubernetes/kubeconfig.js';
import { createTokenStore, readServingCert } from '../adapters/kubernetes/secrets.js';
import { certificateFingerprint } from '../adapters/x509/index.js';
import { generateToken } from '../auth/token.js';
import { ValidationError } from '../errors.js';
import { OUTPUT_FLAG, outputFormat, printData } from './output.js';
import type { Verb } from './index.js';

export const tokenVerb: Verb = {
  name: 'token',
  summary: 'print this cluster\'s peering token, its authentication URL and the `peerlog peer` command for a consumer (which reads the token from a file)',
  usage: 'peerlog token [--rotate] [-o table|json|yaml] [--stack alpha|beta | --cluster-id ID --kubeconfig F --auth-url URL]',
  flags: [
    ...configFlags(ALL_SETTINGS),
    { name: 'rotate', type: 'boolean', description: 'replace the token; the old one is refused from then on' },
    OUTPUT_FLAG,
  ],
  async run({ flags }) {
    const format = outputFormat(flags.output);
    const config = loadConfig(sourceFrom(flags), { kubernetes: true, log: false });
    if (!config.authUrl) throw new ValidationError('setting auth-url: missing (or set auth-port) — peers need to know where to authenticate', { code: 'InvalidSetting', field: 'auth-url' });
    const kube = createKubeClient(loadKubeConfig(config.kubeconfig));
    const store = createTokenStore(kube, config.systemNamespace);
    let token: string;
    if (flags.rotate) {
      token = await store.rotate(generateToken);
      process.stderr.write('token rotated: the previous token is refused from now on\n');
    } else {
      token = (await store.ensure(generateToken)).token;
    }
    // The endpoint's certificate exists once `peerlog serve` has run; consumers can pin it.
    const cert = await readServingCert(kube, config.systemNamespace);
    const authFingerprint = cert ? `sha256:${certificateFingerprint(cert)}` : undefined;
    const tokenFile = `${config.clusterName}.token`;
    const peerCommand = `peerlog peer ${config.clusterName} --auth-url ${config.authUrl} --token-file ${tokenFile}${authFingerprint ? ` --auth-fingerprint ${authFingerprint}` : ''}`;
    const data = { clusterId: config.clusterId, clusterName: config.clusterName, authUrl: config.authUrl, token, ...(authFingerprint ? { authFingerprint } : {}), peerCommand };
    printData(format, data, () => [
      `cluster:      ${config.clusterName} (${config.clusterId})`,
      `auth URL:     ${config.authUrl}`,
      ...(authFingerprint ? [`fingerprint:  ${authFingerprint}`] : []),
      `token:        ${token}`,
      '',
      `Save the token in ${tokenFile} on the consumer cluster, readable by you only (umask 077).`,
      'On the consumer cluster, run:',
      `  ${peerCommand}`,
    ].join('\n'));
    return 0;
  },
};
