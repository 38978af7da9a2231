/**
 * The few API calls the testkit itself makes as cluster admin while bringing the control plane up
 * (readiness, nodes, namespaces, tokens). Kept apart from Operon's client so the testkit can start
 * a cluster for the client's own tests.
 */
import { Agent, request } from "undici";

export interface AdminResponse {
  status: number;
  body: unknown;
}

export class AdminClient {
  private readonly server: string;
  private readonly agent: Agent;

  constructor(server: string, tls: { ca: string; cert: string; key: string }) {
    this.server = server;
    this.agent = new Agent({ connect: { ...tls }, connections: 8 });
  }

  async call(method: string, path: string, body?: unknown): Promise<AdminResponse> {
    const response = await request(`${this.server}${path}`, {
      method: method as "GET",
      dispatcher: this.agent,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain-text bodies (/readyz) stay text
    }
    return { status: response.statusCode, body: parsed };
  }

  /** Like `call`, but throws unless the status is 2xx (or listed in `allow`). */
  async must(method: string, path: string, body?: unknown, allow: number[] = []): Promise<unknown> {
    const response = await this.call(method, path, body);
    if ((response.status >= 200 && response.status < 300) || allow.includes(response.status)) {
      return response.body;
    }
    const message =
      typeof response.body === "object" && response.body && "message" in response.body
        ? String((response.body as { message: unknown }).message)
        : String(response.body);
    throw new Error(`${method} ${path} failed with ${response.status}: ${message}`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
