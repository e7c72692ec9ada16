/** Strict decoding of JSON held in file bytes (safetensors headers, index files). */
import { InputError } from './errors.js';

/** Decodes `bytes` as UTF-8 JSON; `what` names the part of `file` in the error ("header", "index"). */
export function decodeJson(file: string, what: string, bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new InputError(file, `${what} is not valid UTF-8`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `${what} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** A JSON object (not null, not an array). */
export const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
