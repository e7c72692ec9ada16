#!/usr/bin/env node
/**
 * The lowbit command line. Commands only parse arguments and print; the work
 * is library calls. Input problems (InputError) print one line and exit 2;
 * anything else is a bug: one line and exit 1, the stack with --debug.
 */
import { Command, CommanderError } from 'commander';
import { isInputError } from '../io/errors.js';
import { registerBench } from './commands/bench.js';
import { registerConvert } from './commands/convert.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerInspect } from './commands/inspect.js';
import { registerQuantize } from './commands/quantize.js';

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('lowbit')
    .description('compress LLMs to 2-4 bits, measure them, run them (WebGPU / CPU)')
    .option('--debug', 'print stacks of errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerEval(program);
  registerGenerate(program);
  registerQuantize(program);
  registerInspect(program);
  registerConvert(program);
  registerBench(program);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // usage errors: commander printed them
    const cause = e instanceof Error && isInputError(e.cause) ? e.cause : e;
    if (debug) process.stderr.write(`${(cause as Error).stack ?? String(cause)}\n`);
    if (isInputError(cause)) {
      process.stderr.write(`lowbit: error: ${cause.message}\n`);
      return 2;
    }
    process.stderr.write(`lowbit: internal error: ${cause instanceof Error ? cause.message : String(cause)}${debug ? '' : ' (run with --debug for the stack)'}\n`);
    return 1;
  }
}

// a reader that stops early (`lowbit generate … | head`): stop quietly, as other command-line tools do
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});
process.exitCode = await main(process.argv.slice(2));
