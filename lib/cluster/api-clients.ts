// API clients over one KubeConfig that share a keep-alive connection pool. client-node 1.x builds a
// fresh https.Agent for every request, so each request would pay a new TCP + TLS handshake; a warm
// function reuses one connection instead. Each request also gets the abort signal of ApiRequests
// (its timeout and the run's deadline), and goes out through node-http-library.ts.
import https from 'node:https';
import { currentRequestSignal } from './api-requests.js';
import { nodeHttpLibrary } from './node-http-library.js';
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';

type ApiType<T> = new (configuration: Configuration) => T;

export class ApiClients {
  private agent: https.Agent | undefined;
  private readonly clients = new Map<ApiType<unknown>, unknown>();

  constructor(readonly kubeConfig: KubeConfig) {}

  get<T>(type: ApiType<T>): T {
    const existing = this.clients.get(type) as T | undefined;
    if (existing !== undefined) return existing;
    const server = this.kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('no current cluster in the kubeconfig');
    const auth = {
      getName: () => 'kubeconfig authentication, pooled connections',
      applySecurityAuthentication: async (context: RequestContext) => {
        // Headers (tokens, exec and OIDC credentials) stay client-node's business, per request.
        await this.kubeConfig.applySecurityAuthentication(context);
        const signal = currentRequestSignal.getStore();
        if (signal !== undefined) context.setSignal(signal);
        const fresh = context.getAgent();
        if (fresh instanceof https.Agent) {
          this.agent ??= new https.Agent({ ...fresh.options, keepAlive: true });
          context.setAgent(this.agent);
        }
      },
    };
    const client = new type(
      createConfiguration({
        baseServer: new ServerConfiguration(server, {}),
        authMethods: { default: auth },
        httpApi: nodeHttpLibrary,
      }),
    );
    this.clients.set(type, client);
    return client;
  }
}
