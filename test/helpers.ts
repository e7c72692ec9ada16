/** Shared test helpers: running the built CLI and reading the shared reference data. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DATA = '../shared/data';
export const MODELS = `${DATA}/models`;
export const WIKITEXT = `${DATA}/wikitext2/wikitext-2-raw-v1_test_gptq-joined.txt`;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `lowbit <args>` in a child process (the built dist/ CLI). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the CLI with --json and parses stdout; fails with stderr when the command failed. */
export async function runCliJson<T>(args: readonly string[]): Promise<T> {
  const r = await runCli([...args, '--json']);
  if (r.code !== 0) throw new Error(`lowbit ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface ModelReference {
  readonly wikitext2_ppl_seq256_first8: number;
  readonly wikitext2_ppl_seq512_first8: number;
  readonly wikitext2_ppl_seq512: number;
  readonly greedy_prompt: string;
  readonly greedy_ids: readonly number[];
}

export function reference(model: 'lowbit-ref-15m' | 'lowbit-ref-30m'): ModelReference {
  return (JSON.parse(readFileSync(`${MODELS}/REFERENCE.json`, 'utf8')) as Record<string, ModelReference>)[model] as ModelReference;
}

export interface DemoReference {
  readonly valid_ppl_seq256_first8: number;
  readonly greedy_prompt: string;
  readonly greedy_ids: readonly number[];
}

export const demoReference = (): DemoReference => JSON.parse(readFileSync(`${MODELS}/lowbit-demo/REFERENCE.json`, 'utf8')) as DemoReference;

/** |a − b| / |b| */
export const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
