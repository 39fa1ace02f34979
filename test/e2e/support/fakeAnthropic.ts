/**
 * A fake Anthropic Messages API for driving the real Claude Code CLI offline (research/claude-code-hooks.md
 * §8.5-8.6). Listens only on 127.0.0.1. Answers `POST /v1/messages` (SSE when `stream: true`, JSON
 * otherwise) with scripted tool calls, `POST /v1/messages/count_tokens`, and `HEAD /` (the CLI's
 * connectivity preflight); anything else gets a 404 error object. Every request and reply is kept (and
 * optionally appended to a JSONL log) so tests can check exactly what the model was told.
 *
 * Scenario modes:
 * - `steps` (default): step i is sent as a tool_use when the conversation holds i tool_results; after the
 *   last step a final text `FAKE_FINAL_REPLY is_error=<bool> tool_result=<last tool_result>`.
 * - `per-turn`: one step per user prompt (multi-turn stream-json sessions).
 * - `subagent`: the main thread calls the Agent tool with a prompt containing SUBAGENT_TASK; the subagent's
 *   requests (recognised by that marker) run the steps.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolStep {
  name: string;
  input: Record<string, unknown>;
}

export interface FakeOptions {
  steps: ToolStep[];
  mode?: 'steps' | 'per-turn' | 'subagent';
  subagentType?: string;
  /** Append every request/reply as a JSON line here. */
  logFile?: string;
  /**
   * Answer requests that carry no tools (e.g. WebFetch's page summary) with the text of their last user
   * message, as a summariser that passes the page on would (default: the FAKE_FINAL_REPLY text).
   */
  echoWithoutTools?: boolean;
  port?: number;
}

export interface LoggedRequest {
  method: string;
  url: string;
  body: any;
}

interface Reply {
  id: string;
  stopReason: 'tool_use' | 'end_turn';
  blocks: ({ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> })[];
}

export const SUBAGENT_MARKER = 'SUBAGENT_TASK';

type Msg = { role: string; content: unknown };
const blocksOf = (m: Msg | undefined): any[] => (m && Array.isArray(m.content) ? (m.content as any[]) : []);
const isToolResultMsg = (m: Msg | undefined): boolean => blocksOf(m).some((c) => c && c.type === 'tool_result');

function lastToolResult(messages: Msg[]): any {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    for (const c of blocksOf(m)) if (c && c.type === 'tool_result') return c;
  }
  return undefined;
}

function toolResultText(tr: any): string {
  if (!tr) return '';
  if (typeof tr.content === 'string') return tr.content;
  if (Array.isArray(tr.content)) return tr.content.map((c: any) => (c && typeof c.text === 'string' ? c.text : JSON.stringify(c))).join('');
  return JSON.stringify(tr.content);
}

export class FakeAnthropic {
  readonly requests: LoggedRequest[] = [];
  private server: http.Server | undefined;
  private counter = 0;

  constructor(private readonly opts: FakeOptions) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  start(): Promise<number> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve(this.port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private log(entry: unknown): void {
    if (this.opts.logFile) fs.appendFileSync(this.opts.logFile, JSON.stringify(entry) + '\n');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = { unparsed: raw.slice(0, 2000) };
      }
      const entry: LoggedRequest = { method: req.method ?? '', url: req.url ?? '', body };
      this.requests.push(entry);
      this.log({ t: new Date().toISOString(), ...entry });
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/v1/messages') {
        const reply = this.reply(body ?? {});
        this.log({ t: new Date().toISOString(), reply });
        const model = (body && body.model) || 'claude-fake';
        return body && body.stream ? this.sendStream(res, model, reply) : this.sendJson(res, model, reply);
      }
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ input_tokens: 42 }));
      }
      if (req.method === 'HEAD') {
        res.writeHead(200);
        return res.end();
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `fake server: ${path}` } }));
    });
  }

  private reply(body: any): Reply {
    const messages: Msg[] = Array.isArray(body.messages) ? body.messages : [];
    const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
    const id = `msg_fake_${++this.counter}`;
    const tr = lastToolResult(messages);
    const steps = this.opts.steps;
    const toolUse = (prefix: string, step: ToolStep, text: string): Reply => ({
      id,
      stopReason: 'tool_use',
      blocks: [{ type: 'text', text }, { type: 'tool_use', id: `${prefix}${this.counter}`, name: step.name, input: step.input }],
    });
    const results = messages.reduce((n, m) => n + (m.role === 'user' ? blocksOf(m).filter((c) => c && c.type === 'tool_result').length : 0), 0);

    if (this.opts.mode === 'subagent' && hasTools) {
      const isSub = JSON.stringify(messages[0]?.content ?? '').includes(SUBAGENT_MARKER);
      if (isSub) {
        const step = steps[results];
        if (step) return toolUse('toolu_sub_', step, `subagent: step ${results}`);
      } else if (!tr) {
        return toolUse('toolu_main_', { name: 'Agent', input: { description: 'Run the task', prompt: `${SUBAGENT_MARKER}: please do the task`, subagent_type: this.opts.subagentType ?? 'general-purpose' } }, 'main: spawning a subagent');
      }
    } else if (this.opts.mode === 'per-turn') {
      const prompts = messages.filter((m) => m.role === 'user' && !isToolResultMsg(m)).length;
      const step = isToolResultMsg(messages[messages.length - 1]) ? undefined : steps[prompts - 1];
      if (hasTools && step) return toolUse('toolu_turn_', step, `turn ${prompts}`);
    } else if (hasTools) {
      const step = steps[results];
      if (step) return toolUse('toolu_fake_', step, `I will use a tool now (step ${results}).`);
    }
    if (this.opts.echoWithoutTools && !hasTools) {
      const last = [...messages].reverse().find((m) => m.role === 'user');
      const content = last ? (typeof last.content === 'string' ? last.content : blocksOf(last).map((c) => (c && typeof c.text === 'string' ? c.text : '')).join('\n')) : '';
      return { id, stopReason: 'end_turn', blocks: [{ type: 'text', text: content.slice(0, 8000) || 'FAKE_ECHO_EMPTY' }] };
    }
    let text = 'FAKE_FINAL_REPLY';
    if (tr) text += ` is_error=${!!tr.is_error} tool_result=${toolResultText(tr).slice(0, 2000)}`;
    return { id, stopReason: 'end_turn', blocks: [{ type: 'text', text }] };
  }

  private sendStream(res: http.ServerResponse, model: string, r: Reply): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_fake_${this.counter}` });
    const sse = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    sse('message_start', {
      type: 'message_start',
      message: { id: r.id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
    });
    r.blocks.forEach((b, index) => {
      if (b.type === 'text') {
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } });
      } else {
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } });
      }
      sse('content_block_stop', { type: 'content_block_stop', index });
    });
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: r.stopReason, stop_sequence: null }, usage: { output_tokens: 20 } });
    sse('message_stop', { type: 'message_stop' });
    res.end();
  }

  private sendJson(res: http.ServerResponse, model: string, r: Reply): void {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_fake_${this.counter}` });
    res.end(JSON.stringify({ id: r.id, type: 'message', role: 'assistant', model, content: r.blocks, stop_reason: r.stopReason, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 20 } }));
  }
}

/** Every tool_result block the CLI sent back to the model, in order. */
export function toolResults(requests: LoggedRequest[]): { tool_use_id: string; is_error: boolean; text: string }[] {
  const seen = new Map<string, { tool_use_id: string; is_error: boolean; text: string }>();
  for (const r of requests) {
    if (r.method !== 'POST' || !r.url.startsWith('/v1/messages') || r.url.includes('count_tokens')) continue;
    for (const m of (r.body?.messages ?? []) as Msg[]) {
      for (const c of blocksOf(m)) if (c && c.type === 'tool_result') seen.set(c.tool_use_id, { tool_use_id: c.tool_use_id, is_error: !!c.is_error, text: toolResultText(c) });
    }
  }
  return [...seen.values()];
}
